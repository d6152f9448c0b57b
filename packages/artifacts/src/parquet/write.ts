/**
 * Parquet writer for Tables: PLAIN, uncompressed, required columns, one data page v1 per column
 * chunk per row group. Vector columns are 3-level LISTs whose float32 values are written as
 * views of the caller's Float32Array (no per-element work, no copy when writing to a file).
 */
import { open, type FileHandle } from "node:fs/promises"
import {
  encodePlainValues,
  intStats,
  LITTLE_ENDIAN,
  vectorDefLevels,
  vectorRepLevels
} from "./encode-values.js"
import { ParquetError, toParquetError } from "./errors.js"
import { fileMetadata, pageHeader, type ChunkMeta, type RowGroupMeta } from "./footer.js"
import { COLUMNS_KEY, MAGIC } from "./format.js"
import { tableSchema, validateTable, type Column, type ColumnInfo, type Table, type ParquetWriteOptions } from "./table.js"

const TARGET_ROW_GROUP_BYTES = 128 * 1024 * 1024
const MAX_PAGE_BYTES = 2 ** 31 - 1 // page sizes are thrift i32

/** Rough bytes per row, for the default row-group size. */
function bytesPerRow(table: Table): number {
  let b = 0
  for (const c of table.columns) {
    if (c.type === "vector") b += 4 * c.dim
    else if (c.type === "int64" || c.type === "float64") b += 8
    else if (c.type === "bool") b += 1 / 8
    else if (c.type === "string") {
      let chars = 0
      for (const s of c.data) chars += s.length
      b += 4 + (table.numRows > 0 ? chars / table.numRows : 0)
    } else b += 4
  }
  return Math.max(b, 1)
}

/** One column chunk: [page header, body parts...]. */
function encodeChunk(file: string, c: Column, r0: number, r1: number, offset: number): { parts: Uint8Array[]; meta: ChunkMeta } {
  const rows = r1 - r0
  const body: Uint8Array[] =
    c.type === "vector"
      ? [vectorRepLevels(rows, c.dim), vectorDefLevels(rows * c.dim), encodePlainValues(c, r0, r1)]
      : [encodePlainValues(c, r0, r1)]
  const bodySize = body.reduce((s, p) => s + p.length, 0)
  const numValues = c.type === "vector" ? rows * c.dim : rows
  if (bodySize > MAX_PAGE_BYTES || numValues > MAX_PAGE_BYTES)
    throw new ParquetError({
      file,
      field: c.name,
      reason: `a row group of ${rows} rows makes a ${bodySize}-byte page, over the 2 GiB page limit; lower rowGroupRows`
    })
  const header = pageHeader(numValues, bodySize)
  const totalSize = header.length + bodySize
  return { parts: [header, ...body], meta: { column: c, numValues, totalSize, offset, stats: intStats(c, r0, r1) } }
}

/** Rows [r0, r1) of every column as one row group starting at file `offset`: byte parts and metadata. */
export function encodeRowGroup(
  file: string,
  columns: Column[],
  r0: number,
  r1: number,
  offset: number
): { parts: Uint8Array[]; meta: RowGroupMeta; size: number } {
  const parts: Uint8Array[] = []
  const chunks: ChunkMeta[] = []
  let at = offset
  for (const c of columns) {
    const { parts: p, meta } = encodeChunk(file, c, r0, r1, at)
    for (const x of p) parts.push(x)
    at += meta.totalSize
    chunks.push(meta)
  }
  return { parts, meta: { numRows: r1 - r0, chunks }, size: at - offset }
}

/** Footer bytes, length and closing magic. */
export function encodeFooter(columns: ColumnInfo[], numRows: number, rowGroups: RowGroupMeta[], kvMetadata: Record<string, string> = {}): Uint8Array[] {
  const kv = { ...kvMetadata, [COLUMNS_KEY]: JSON.stringify(columns) }
  const footer = fileMetadata(columns, numRows, rowGroups, kv)
  const tail = new Uint8Array(8)
  new DataView(tail.buffer).setUint32(0, footer.length, true)
  tail.set(MAGIC, 4)
  return [footer, tail]
}

export const checkHost = (file: string): void => {
  if (!LITTLE_ENDIAN) throw new ParquetError({ file, reason: "big-endian hosts are not supported" })
}

/** The file as a list of byte parts (views where possible), in order. */
export function encodeParquetParts(file: string, table: Table, opts: ParquetWriteOptions = {}): Uint8Array[] {
  checkHost(file)
  validateTable(file, table)
  const groupRows = opts.rowGroupRows ?? Math.max(1, Math.floor(TARGET_ROW_GROUP_BYTES / bytesPerRow(table)))
  if (!Number.isInteger(groupRows) || groupRows < 1)
    throw new ParquetError({ file, reason: `rowGroupRows must be a positive integer, got ${opts.rowGroupRows}` })
  const parts: Uint8Array[] = [MAGIC]
  let offset = MAGIC.length
  const rowGroups: RowGroupMeta[] = []
  for (let r0 = 0; r0 < table.numRows; r0 += groupRows) {
    const rg = encodeRowGroup(file, table.columns, r0, Math.min(table.numRows, r0 + groupRows), offset)
    for (const p of rg.parts) parts.push(p)
    offset += rg.size
    rowGroups.push(rg.meta)
  }
  for (const p of encodeFooter(tableSchema(table), table.numRows, rowGroups, opts.kvMetadata)) parts.push(p)
  return parts
}

/** Encode a table to Parquet bytes in memory. Throws ParquetError (file "<memory>"). */
export function encodeParquet(table: Table, opts: ParquetWriteOptions = {}): Uint8Array {
  const parts = encodeParquetParts("<memory>", table, opts)
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0))
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

const WRITEV_BATCH = 256 // stay well below IOV_MAX

/** Append all parts at the handle's current position (writev in batches, short writes completed). */
export async function writeParts(fh: FileHandle, parts: Uint8Array[]): Promise<void> {
  for (let i = 0; i < parts.length; i += WRITEV_BATCH) {
    const batch = parts.slice(i, i + WRITEV_BATCH)
    const want = batch.reduce((s, p) => s + p.length, 0)
    const { bytesWritten } = await fh.writev(batch)
    if (bytesWritten === want) continue
    let skip = bytesWritten
    for (const p of batch) {
      if (skip >= p.length) {
        skip -= p.length
        continue
      }
      const rest = p.subarray(skip)
      skip = 0
      let done = 0
      while (done < rest.length) done += (await fh.write(rest, done)).bytesWritten
    }
  }
}

/** Write a table to `path` (created or truncated). Rejects with ParquetError. */
export async function writeParquetFile(path: string, table: Table, opts: ParquetWriteOptions = {}): Promise<void> {
  const parts = encodeParquetParts(path, table, opts)
  let fh: FileHandle | undefined
  try {
    fh = await open(path, "w")
    await writeParts(fh, parts)
  } catch (e) {
    throw toParquetError(path, e)
  } finally {
    await fh?.close()
  }
}
