import { ParquetError } from "./errors.js"

/** One column of a table. All columns are non-null; `data` holds exactly `numRows` values. */
export type Column =
  | { name: string; type: "int32"; data: Int32Array }
  | { name: string; type: "int64"; data: BigInt64Array }
  | { name: string; type: "float32"; data: Float32Array }
  | { name: string; type: "float64"; data: Float64Array }
  | { name: string; type: "bool"; data: Uint8Array } // 0 = false, anything else = true
  | { name: string; type: "string"; data: string[] }
  | { name: string; type: "vector"; dim: number; data: Float32Array } // [numRows, dim] row-major

export type ColumnType = Column["type"]

/** A columnar table: every column has `numRows` rows. */
export interface Table {
  numRows: number
  columns: Column[]
}

/** Schema-level description of a column (no data). `dim` only for vectors. */
export interface ColumnInfo {
  name: string
  type: ColumnType
  dim?: number
}

export interface ParquetSchemaInfo {
  numRows: number
  columns: ColumnInfo[]
  kvMetadata: Record<string, string>
}

export interface ParquetWriteOptions {
  /** Rows per row group. Default: as many as fit in ~128 MiB of column data (at least 1). */
  rowGroupRows?: number
  /** Extra key/value pairs stored in the file footer. */
  kvMetadata?: Record<string, string>
}

export interface ParquetReadOptions {
  /** Column names to read, in the order wanted. Default: all columns in file order. */
  columns?: string[]
}

/** Number of values `data` must hold for a column with `rows` rows. */
export const expectedLength = (c: Column, rows: number): number => (c.type === "vector" ? rows * c.dim : rows)

/** Check shapes and names; throws ParquetError naming the offending column. */
export function validateTable(file: string, table: Table): void {
  const { numRows } = table
  if (!Number.isInteger(numRows) || numRows < 0)
    throw new ParquetError({ file, reason: `numRows must be a non-negative integer, got ${numRows}` })
  const seen = new Set<string>()
  for (const c of table.columns) {
    if (typeof c.name !== "string" || c.name.length === 0)
      throw new ParquetError({ file, field: String(c.name), reason: "column name must be a non-empty string" })
    if (seen.has(c.name)) throw new ParquetError({ file, field: c.name, reason: "duplicate column name" })
    seen.add(c.name)
    if (c.type === "vector" && (!Number.isInteger(c.dim) || c.dim < 1))
      throw new ParquetError({ file, field: c.name, reason: `vector dim must be a positive integer, got ${c.dim}` })
    const want = expectedLength(c, numRows)
    if (c.data.length !== want)
      throw new ParquetError({
        file,
        field: c.name,
        reason: `expected ${want} values for ${numRows} rows of ${c.type}, got ${c.data.length}`
      })
  }
}

/** Column descriptions of a table. */
export const tableSchema = (table: Table): ColumnInfo[] =>
  table.columns.map((c) => (c.type === "vector" ? { name: c.name, type: c.type, dim: c.dim } : { name: c.name, type: c.type }))

/** A zero-filled column of `rows` rows (vector dim from `c.dim`, 0 if missing). */
export const allocateColumn = (c: ColumnInfo, rows: number): Column => {
  switch (c.type) {
    case "int32":
      return { name: c.name, type: c.type, data: new Int32Array(rows) }
    case "int64":
      return { name: c.name, type: c.type, data: new BigInt64Array(rows) }
    case "float32":
      return { name: c.name, type: c.type, data: new Float32Array(rows) }
    case "float64":
      return { name: c.name, type: c.type, data: new Float64Array(rows) }
    case "bool":
      return { name: c.name, type: c.type, data: new Uint8Array(rows) }
    case "string":
      return { name: c.name, type: c.type, data: new Array<string>(rows) }
    case "vector":
      return { name: c.name, type: c.type, dim: c.dim ?? 0, data: new Float32Array(rows * (c.dim ?? 0)) }
  }
}
