import type { Column, Table } from "./parquet/index.js"

/**
 * Typed access to a table read back from an artifact: `getColumn(table, "step", "int32")` returns the
 * Int32Array or throws naming the column and what was found, so a schema drift is loud.
 */
type ColumnOf<T extends Column["type"]> = Extract<Column, { type: T }>

export function getColumn<T extends Column["type"]>(table: Table, name: string, type: T, file = "<table>"): ColumnOf<T> {
  const c = table.columns.find((x) => x.name === name)
  if (!c) throw new Error(`${file}: column ${name}: missing (have ${table.columns.map((x) => x.name).join(", ")})`)
  if (c.type !== type) throw new Error(`${file}: column ${name}: expected ${type}, found ${c.type}`)
  return c as ColumnOf<T>
}

/**
 * Build a table from plain records for small artifacts (curves, scores). `spec` maps column names to
 * scalar types, or to `{ vector: dim }` for a fixed-size float32 vector per row (number[] or Float32Array).
 */
export type RecordSpec = Record<string, "int32" | "float32" | "float64" | "string" | "bool" | { vector: number }>

export function tableFromRecords(spec: RecordSpec, records: readonly Record<string, unknown>[]): Table {
  const n = records.length
  const columns: Column[] = Object.entries(spec).map(([name, t]) => {
    const values = records.map((r, i) => {
      const v = r[name]
      if (v === undefined) throw new Error(`record ${i}: field ${name}: missing`)
      return v
    })
    if (typeof t === "object") {
      const data = new Float32Array(n * t.vector) // [n, dim]
      values.forEach((v, i) => {
        const arr = v as ArrayLike<number>
        if (arr.length !== t.vector) throw new Error(`record ${i}: field ${name}: expected ${t.vector} values, got ${arr.length}`)
        data.set(arr, i * t.vector)
      })
      return { name, type: "vector", dim: t.vector, data }
    }
    switch (t) {
      case "int32":
        return { name, type: t, data: Int32Array.from(values as number[]) }
      case "float32":
        return { name, type: t, data: Float32Array.from(values as number[]) }
      case "float64":
        return { name, type: t, data: Float64Array.from(values as number[]) }
      case "bool":
        return { name, type: t, data: Uint8Array.from(values as boolean[], (b) => (b ? 1 : 0)) }
      case "string":
        return { name, type: t, data: values.map(String) }
    }
  })
  return { numRows: n, columns }
}

/** The inverse for small tables: one plain record per row (vectors as number[]). */
export function recordsFromTable(table: Table): Record<string, number | string | boolean | number[]>[] {
  const out: Record<string, number | string | boolean | number[]>[] = Array.from({ length: table.numRows }, () => ({}))
  for (const c of table.columns) {
    for (let i = 0; i < table.numRows; i++) {
      if (c.type === "vector") out[i][c.name] = Array.from(c.data.subarray(i * c.dim, (i + 1) * c.dim))
      else if (c.type === "bool") out[i][c.name] = c.data[i] !== 0
      else if (c.type === "int64") out[i][c.name] = Number(c.data[i])
      else out[i][c.name] = c.data[i]
    }
  }
  return out
}
