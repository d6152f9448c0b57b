/**
 * General reader for Parquet files written by other tools (DuckDB, pyarrow, ...), through
 * hyparquet, converted into the same Table shape. Supported: non-null BOOLEAN, INT32, INT64,
 * FLOAT, DOUBLE, DECIMAL (as float64), UTF8 strings, and lists of FLOAT/DOUBLE whose rows all have
 * the same length (as float32 vectors; doubles are rounded to float32).
 */
import { parquetRead, parquetSchema, type AsyncBuffer, type FileMetaData, type SchemaTree } from "hyparquet"
import { ParquetError, toParquetError } from "./errors.js"
import { allocateColumn, type Column, type ColumnInfo, type ColumnType, type Table } from "./table.js"

const SMALL_INTS = new Set(["INT_8", "INT_16", "INT_32", "UINT_8", "UINT_16"])

/** Our column type of a schema element, or the reason it is unsupported. */
function leafType(node: SchemaTree): ColumnType | string {
  const e = node.element
  const lt = e.logical_type?.type
  const ct = e.converted_type
  if (lt === "DECIMAL" || ct === "DECIMAL") return "float64"
  switch (e.type) {
    case "BOOLEAN":
      return "bool"
    case "INT32":
      if (ct === undefined || SMALL_INTS.has(ct)) return lt === undefined || lt === "INTEGER" ? "int32" : `INT32 (${lt})`
      return `INT32 (${ct})`
    case "INT64":
      if ((ct === undefined || ct === "INT_64") && (lt === undefined || lt === "INTEGER")) return "int64"
      return `INT64 (${lt ?? ct})`
    case "FLOAT":
      return "float32"
    case "DOUBLE":
      return "float64"
    case "BYTE_ARRAY":
      if (ct === "UTF8" || ct === "JSON" || ct === "ENUM" || lt === "STRING" || lt === "JSON" || lt === "ENUM") return "string"
      return "BYTE_ARRAY without a string annotation"
    default:
      return `${e.type} (${lt ?? ct ?? "no annotation"})`
  }
}

/** Leaf node of a list-of-scalars column (3-level or legacy 2-level), or undefined. */
function listLeaf(node: SchemaTree): SchemaTree | undefined {
  const e = node.element
  if (e.converted_type !== "LIST" && e.logical_type?.type !== "LIST") return undefined
  if (node.children.length !== 1) return undefined
  const rep = node.children[0]
  if (rep.element.repetition_type !== "REPEATED") return undefined
  if (rep.children.length === 0) return rep // 2-level: repeated float element
  if (rep.children.length === 1 && rep.children[0].children.length === 0) return rep.children[0]
  return undefined
}

/** Describe a top-level schema node; vector dims are filled in later from data. */
export function describeNode(node: SchemaTree, file: string): ColumnInfo {
  const name = node.element.name
  if (node.children.length > 0) {
    const leaf = listLeaf(node)
    if (leaf && (leaf.element.type === "FLOAT" || leaf.element.type === "DOUBLE")) return { name, type: "vector" }
    throw new ParquetError({ file, field: name, reason: "unsupported nested column (only lists of float/double are read)" })
  }
  if (node.element.repetition_type === "REPEATED")
    throw new ParquetError({ file, field: name, reason: "unsupported repeated primitive column" })
  const t = leafType(node)
  if (t === "int32" || t === "int64" || t === "float32" || t === "float64" || t === "bool" || t === "string" || t === "vector")
    return { name, type: t }
  throw new ParquetError({ file, field: name, reason: `unsupported type ${t}` })
}

export const topLevelNodes = (meta: FileMetaData): SchemaTree[] => parquetSchema(meta).children

type Sink = (values: ArrayLike<unknown>, rowStart: number) => void

const nullError = (file: string, field: string, row: number) =>
  new ParquetError({ file, field, reason: `null value at row ${row}; only non-null columns are supported` })

/** Build the output column and a sink that copies hyparquet chunks into it. */
function columnSink(info: ColumnInfo, rows: number, file: string): { column: () => Column; sink: Sink } {
  const field = info.name
  if (info.type === "vector") {
    const pieces: { rowStart: number; values: ArrayLike<unknown> }[] = []
    return {
      sink: (values, rowStart) => pieces.push({ values, rowStart }),
      column: () => {
        let dim = -1
        for (const p of pieces)
          for (let i = 0; i < p.values.length; i++) {
            const v = p.values[i] as ArrayLike<number> | null | undefined
            if (v === null || v === undefined) throw nullError(file, field, p.rowStart + i)
            if (dim === -1) dim = v.length
            else if (v.length !== dim)
              throw new ParquetError({ file, field, reason: `list lengths differ (${dim} and ${v.length} at row ${p.rowStart + i}); not a fixed-size vector` })
          }
        dim = Math.max(dim, 0)
        const data = new Float32Array(rows * dim) // [rows, dim]
        for (const p of pieces)
          for (let i = 0; i < p.values.length; i++) {
            const v = p.values[i] as ArrayLike<number | null>
            for (let k = 0; k < dim; k++) {
              const x = v[k]
              if (x === null || x === undefined) throw nullError(file, field, p.rowStart + i)
              data[(p.rowStart + i) * dim + k] = x
            }
          }
        return { name: field, type: "vector", dim, data }
      }
    }
  }
  const col = allocateColumn(info, rows)
  const data = col.data as { [i: number]: unknown }
  const conv =
    info.type === "int64"
      ? (x: unknown) => (typeof x === "bigint" ? x : BigInt(x as number))
      : info.type === "bool"
        ? (x: unknown) => (x ? 1 : 0)
        : info.type === "string"
          ? (x: unknown) => (typeof x === "string" ? x : new TextDecoder().decode(x as Uint8Array))
          : (x: unknown) => Number(x)
  return {
    column: () => col,
    sink: (values, rowStart) => {
      for (let i = 0; i < values.length; i++) {
        const x = values[i]
        if (x === null || x === undefined) throw nullError(file, field, rowStart + i)
        data[rowStart + i] = conv(x)
      }
    }
  }
}

/** Read the chosen columns of any Parquet file held in memory. */
export async function readGeneral(buf: AsyncBuffer, meta: FileMetaData, wanted: ColumnInfo[], file: string): Promise<Table> {
  const numRows = Number(meta.num_rows)
  const sinks = new Map(wanted.map((c) => [c.name, columnSink(c, numRows, file)]))
  let failure: ParquetError | undefined
  try {
    await parquetRead({
      file: buf,
      metadata: meta,
      columns: wanted.map((c) => c.name),
      onChunk: ({ columnName, columnData, rowStart }) => {
        if (failure) return
        try {
          sinks.get(columnName)?.sink(columnData as ArrayLike<unknown>, rowStart)
        } catch (e) {
          failure = toParquetError(file, e, columnName)
        }
      }
    })
  } catch (e) {
    throw toParquetError(file, e)
  }
  if (failure) throw failure
  return { numRows, columns: wanted.map((c) => sinks.get(c.name)!.column()) }
}

/** Length of the first list in a vector column (undefined when the file has no rows). */
export async function firstListLength(buf: AsyncBuffer, meta: FileMetaData, name: string, file: string): Promise<number | undefined> {
  if (Number(meta.num_rows) === 0) return undefined
  let dim: number | undefined
  try {
    await parquetRead({
      file: buf,
      metadata: meta,
      columns: [name],
      rowStart: 0,
      rowEnd: 1,
      onComplete: (rows: unknown[][]) => {
        const v = rows[0]?.[0] as ArrayLike<number> | null | undefined
        dim = v?.length
      }
    })
  } catch (e) {
    throw toParquetError(file, e, name)
  }
  return dim
}
