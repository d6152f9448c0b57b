/**
 * Data sets of the Parquet benchmark (activation shards, the pipeline's small tables), their
 * hyparquet-writer form, and the value checks run on every file each writer wrote.
 */
import { Rng } from "@conceptscope/core"
import type { DuckDBConnection } from "@duckdb/node-api"
import type { Column, ColumnInfo, Table } from "@conceptscope/artifacts"
import { parquetReadObjects } from "hyparquet"
import type { ColumnSource, SchemaElement } from "hyparquet-writer"

/** One benchmark data set: the files it is written as (one Table each) and its row-group size. */
export interface Dataset {
  name: string
  kind: "activations" | "small"
  files: Table[]
  /** Rows per row group, as the project writes them (activation store: ~1 MiB row groups). */
  rowGroupRows?: number
  rows: number
  /** Bytes of column values (4 per int32/float32 element, 8 per float64, UTF-8 bytes per string). */
  dataBytes: number
}

/** Seeded uniform numbers in [0, 1) from core's Rng. */
const seeded = (seed: number) => {
  const rng = new Rng(seed)
  return () => rng.uniform()
}

const floats = (n: number, seed: number): Float32Array => {
  const u = seeded(seed)
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) out[i] = (u() - 0.5) * 8
  return out
}

const valueBytes = (t: Table): number =>
  t.columns.reduce((s, c) => {
    if (c.type === "string") return s + c.data.reduce((a, x) => a + Buffer.byteLength(x), 0)
    if (c.type === "bool") return s + c.data.length / 8
    return s + c.data.byteLength
  }, 0)

/**
 * Activation shards as the activation store writes them (packages/activation-store: shard-table.ts
 * columns; ~64 MiB of vectors per shard, ~1 MiB row groups), `vectors` reshaped to [rows, dim].
 */
export function activationDataset(vectors: Float32Array, dim: number): Dataset {
  const rows = Math.floor(vectors.length / dim)
  const rowBytes = 4 * dim + 12
  const shardRows = Math.max(1, Math.floor((64 * 1024 * 1024) / rowBytes))
  const rowGroupRows = Math.max(1, Math.floor((1024 * 1024) / rowBytes))
  const files: Table[] = []
  for (let r0 = 0, shard = 0; r0 < rows; r0 += shardRows, shard++) {
    const n = Math.min(shardRows, rows - r0)
    const seq = Int32Array.from({ length: n }, (_, i) => (r0 + i) >> 1)
    files.push({
      numRows: n,
      columns: [
        { name: "checkpoint", type: "int32", data: new Int32Array(n).fill(1000) },
        { name: "layer", type: "int32", data: new Int32Array(n).fill(shard % 4) },
        { name: "hook", type: "string", data: new Array<string>(n).fill(`blocks.${shard % 4}.hook_resid_post`) },
        { name: "position", type: "int32", data: Int32Array.from({ length: n }, (_, i) => 10 + ((r0 + i) & 1)) },
        { name: "seq_id", type: "int32", data: seq },
        { name: "concept", type: "int32", data: seq.map((s) => s % 4) },
        { name: "vector", type: "vector", dim, data: vectors.subarray(r0 * dim, (r0 + n) * dim) }
      ]
    })
  }
  return { name: `activations dim ${dim}`, kind: "activations", files, rowGroupRows, rows, dataBytes: files.reduce((s, t) => s + valueBytes(t), 0) }
}

/** The pipeline's small tables: TD (probe.ts TD_SPEC), training curves (train.ts), error curves (error-curves.ts). */
export function smallDatasets(): Dataset[] {
  const u = seeded(7)
  const td = (n: number, c: number): Table => ({
    numRows: n,
    columns: [
      { name: "step", type: "int32", data: Int32Array.from({ length: n }, (_, i) => 250 * Math.floor(i / 10)) },
      { name: "layer", type: "int32", data: Int32Array.from({ length: n }, (_, i) => Math.floor(i / 2) % 5) },
      { name: "position", type: "int32", data: Int32Array.from({ length: n }, (_, i) => 10 + (i % 2)) },
      { name: "td", type: "float64", data: Float64Array.from({ length: n }, () => u()) },
      { name: "per_concept", type: "vector", dim: c, data: floats(n * c, 11) },
      { name: "pairwise", type: "vector", dim: c * c, data: floats(n * c * c, 12) },
      { name: "linear_probe_acc", type: "float64", data: Float64Array.from({ length: n }, () => u()) }
    ]
  })
  const curves = (n: number): Table => ({
    numRows: n,
    columns: [
      { name: "step", type: "int32", data: Int32Array.from({ length: n }, (_, i) => 100 * Math.floor(i / 24)) },
      { name: "basis", type: "int32", data: Int32Array.from({ length: n }, (_, i) => Math.floor(i / 6) % 4) },
      { name: "k", type: "int32", data: Int32Array.from({ length: n }, (_, i) => i % 6) },
      { name: "mse", type: "float64", data: Float64Array.from({ length: n }, () => u() * 3) },
      { name: "nmse", type: "float64", data: Float64Array.from({ length: n }, () => u()) }
    ]
  })
  const methods = ["transformer", "least-squares", "ridge", "lasso", "oracle", "ridge λ=0.1", "nearest"]
  const errors = (n: number): Table => ({
    numRows: n,
    columns: [
      { name: "method", type: "string", data: Array.from({ length: n }, (_, i) => methods[Math.floor(i / 24) % methods.length]) },
      { name: "basis", type: "int32", data: Int32Array.from({ length: n }, (_, i) => Math.floor(i / 6) % 4) },
      { name: "k", type: "int32", data: Int32Array.from({ length: n }, (_, i) => i % 6) },
      { name: "nmse", type: "float64", data: Float64Array.from({ length: n }, () => u()) }
    ]
  })
  const small = (name: string, t: Table): Dataset => ({ name, kind: "small", files: [t], rows: t.numRows, dataBytes: valueBytes(t) })
  return [small("td.parquet 480 rows", td(480, 4)), small("curves.parquet 2400 rows", curves(2400)), small("errors.parquet 168 rows", errors(168))]
}

const schemaInfo = (t: Table): ColumnInfo[] => t.columns.map((c) => (c.type === "vector" ? { name: c.name, type: c.type, dim: c.dim } : { name: c.name, type: c.type }))

/** hyparquet-writer schema for our column kinds: required columns, vectors as the same 3-level LIST. */
export function hwSchema(t: Table): SchemaElement[] {
  const out: SchemaElement[] = [{ name: "root", num_children: t.columns.length }]
  for (const c of schemaInfo(t)) {
    if (c.type === "vector") {
      out.push(
        { name: c.name, repetition_type: "REQUIRED", converted_type: "LIST", logical_type: { type: "LIST" }, num_children: 1 },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        { name: "element", type: "FLOAT", repetition_type: "REQUIRED" }
      )
      continue
    }
    const type = ({ int32: "INT32", int64: "INT64", float32: "FLOAT", float64: "DOUBLE", bool: "BOOLEAN", string: "BYTE_ARRAY" } as const)[c.type]
    out.push(c.type === "string" ? { name: c.name, type, repetition_type: "REQUIRED", converted_type: "UTF8" } : { name: c.name, type, repetition_type: "REQUIRED" })
  }
  return out
}

/** The input hyparquet-writer takes: typed arrays as they are, vectors as one number[] per row, bools as booleans. */
export function hwColumns(t: Table): ColumnSource[] {
  return t.columns.map((c: Column): ColumnSource => {
    if (c.type === "vector") {
      const rows = new Array<number[]>(t.numRows)
      for (let i = 0; i < t.numRows; i++) rows[i] = Array.from(c.data.subarray(i * c.dim, (i + 1) * c.dim))
      return { name: c.name, data: rows }
    }
    if (c.type === "bool") return { name: c.name, data: Array.from(c.data, (x) => x !== 0) }
    return { name: c.name, data: c.data }
  })
}

/** Value of row `i` of a column as a plain JS value (vectors as number[]). */
const cell = (c: Column, i: number): unknown => {
  if (c.type === "vector") return Array.from(c.data.subarray(i * c.dim, (i + 1) * c.dim))
  if (c.type === "bool") return c.data[i] !== 0
  if (c.type === "int64") return c.data[i]
  return c.data[i]
}

const same = (a: unknown, b: unknown): boolean => {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, k) => Object.is(x, b[k]))
  return Object.is(a, b)
}

/** Throw unless `rows[r]` (row objects read back) equals row `rowIndex(r)` of `t`, every column. */
function expectRows(rows: Record<string, unknown>[], t: Table, rowIndex: (r: number) => number, what: string): void {
  for (let r = 0; r < rows.length; r++) {
    const i = rowIndex(r)
    for (const c of t.columns) {
      const got = rows[r][c.name]
      const want = cell(c, i)
      if (!same(Array.isArray(got) ? Array.from(got as number[]) : got, want))
        throw new Error(`${what}: row ${i} column ${c.name}: got ${JSON.stringify(got)?.slice(0, 80)}, want ${JSON.stringify(want)?.slice(0, 80)}`)
    }
  }
}

/** Throw unless `got` (our reader's Table) equals `t` byte for byte. */
export function expectTable(got: Table, t: Table, what: string): void {
  if (got.numRows !== t.numRows) throw new Error(`${what}: ${got.numRows} rows, want ${t.numRows}`)
  t.columns.forEach((c, j) => {
    const g = got.columns[j]
    if (g.name !== c.name || g.type !== c.type) throw new Error(`${what}: column ${j} is ${g.name}:${g.type}, want ${c.name}:${c.type}`)
    const ok =
      c.type === "string" || c.type === "bool"
        ? c.data.length === g.data.length && Array.from(c.data as ArrayLike<unknown>).every((x, i) => x === (g.data as ArrayLike<unknown>)[i])
        : Buffer.from((g.data as Float32Array).buffer, (g.data as Float32Array).byteOffset, (g.data as Float32Array).byteLength).equals(
            Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength)
          )
    if (!ok) throw new Error(`${what}: column ${c.name} differs`)
  })
}

/** hyparquet's parquetReadObjects of `bytes` equals `t`. */
export async function checkWithHyparquet(bytes: ArrayBuffer, t: Table, what: string): Promise<void> {
  const rows = (await parquetReadObjects({ file: bytes })) as Record<string, unknown>[]
  if (rows.length !== t.numRows) throw new Error(`${what}: hyparquet read ${rows.length} rows, want ${t.numRows}`)
  expectRows(rows, t, (r) => r, `${what} (hyparquet)`)
}

const sql = (s: string) => `'${s.replace(/'/g, "''")}'`

/**
 * DuckDB reads `file`: same row count and, for small files every row (for big ones 64 rows spread over
 * the file), values equal to `t`; and the file's rows equal those of `reference` (another writer's
 * file of the same table) as a multiset, every column compared by DuckDB.
 */
export async function checkWithDuckDB(con: DuckDBConnection, file: string, t: Table, reference: string | undefined): Promise<void> {
  const n = Number((await con.runAndReadAll(`SELECT count(*) AS n FROM read_parquet(${sql(file)})`)).getRowObjectsJS()[0].n)
  if (n !== t.numRows) throw new Error(`DuckDB: ${file} has ${n} rows, want ${t.numRows}`)
  const picks = t.numRows <= 5000 ? undefined : Array.from({ length: 64 }, (_, k) => Math.floor((k * (t.numRows - 1)) / 63))
  const where = picks ? `WHERE file_row_number IN (${picks.join(",")})` : ""
  const rows = (
    await con.runAndReadAll(`SELECT * FROM read_parquet(${sql(file)}, file_row_number = true) ${where} ORDER BY file_row_number`)
  ).getRowObjectsJS() as Record<string, unknown>[]
  if (rows.length !== (picks?.length ?? t.numRows)) throw new Error(`DuckDB: ${file}: picked ${rows.length} rows`)
  expectRows(rows, t, (r) => Number(rows[r].file_row_number), `DuckDB ${file}`)
  if (reference !== undefined) {
    const cols = t.columns.map((c) => `"${c.name}"`).join(", ")
    const diff = (await con.runAndReadAll(
      `SELECT count(*) AS d FROM (SELECT ${cols} FROM read_parquet(${sql(file)}) EXCEPT ALL SELECT ${cols} FROM read_parquet(${sql(reference)}))`
    )).getRowObjectsJS()[0].d
    if (Number(diff) !== 0) throw new Error(`DuckDB: ${file} and ${reference} differ in ${diff} rows`)
  }
}
