/**
 * Thrift serialisation of the page header and the file footer (FileMetaData) for the layout
 * this writer produces: required columns, one PLAIN data page v1 per column chunk, uncompressed;
 * and the page-header fields the fast reader checks, read back.
 */
import {
  CODEC_UNCOMPRESSED,
  Converted,
  CREATED_BY,
  Encoding,
  leafPath,
  PAGE_DATA,
  physicalType,
  Repetition
} from "./format.js"
import type { ColumnInfo } from "./table.js"
import { ThriftReader, ThriftWriter } from "./thrift.js"

/** Where one column chunk landed in the file and what it holds. */
export interface ChunkMeta {
  column: ColumnInfo
  numValues: number // leaf values: rows, or rows*dim for vectors
  totalSize: number // page header + page body bytes
  offset: number // absolute file offset of the page header
  stats?: { min: Uint8Array; max: Uint8Array }
}

export interface RowGroupMeta {
  numRows: number
  chunks: ChunkMeta[]
}

/** PageHeader for a data page v1 of `bodySize` bytes (uncompressed = compressed). */
export function pageHeader(numValues: number, bodySize: number): Uint8Array {
  const w = new ThriftWriter()
  w.structBegin()
  w.i32(1, PAGE_DATA)
  w.i32(2, bodySize)
  w.i32(3, bodySize)
  w.structField(5) // DataPageHeader
  w.i32(1, numValues)
  w.i32(2, Encoding.PLAIN)
  w.i32(3, Encoding.RLE)
  w.i32(4, Encoding.RLE)
  w.structEnd()
  w.structEnd()
  return w.bytes()
}

/**
 * The PageHeader fields the fast reader uses (parquet.thrift ids in comments). The ones it checks
 * (type, compressed size, num_values, encoding) must be present; the others are optional here.
 */
export interface PageHeaderInfo {
  type: number // 1, PageType
  uncompressedPageSize?: number // 2
  compressedPageSize: number // 3
  /** 5, DataPageHeader: num_values (1), encoding (2), definition/repetition level encodings (3, 4) */
  dataPage?: { numValues: number; encoding: number; defLevelEncoding?: number; repLevelEncoding?: number }
}

/**
 * Read the PageHeader at `offset` of `bytes`; `end` is where the page body starts. Other fields
 * (crc, statistics, other page kinds) are skipped, as are optional ones of another type. Throws
 * RangeError on malformed input or a checked field that is missing or not an i32.
 */
export function readPageHeader(bytes: Uint8Array, offset = 0): { header: PageHeaderInfo; end: number } {
  const r = new ThriftReader(bytes, offset)
  let type: number | undefined
  let uncompressedPageSize: number | undefined
  let compressedPageSize: number | undefined
  let dataPage: PageHeaderInfo["dataPage"]
  r.structBegin()
  for (let h = r.field(); h.type !== 0; h = r.field()) {
    if (h.id === 1) type = r.i32(h.type)
    else if (h.id === 2) uncompressedPageSize = r.optI32(h.type)
    else if (h.id === 3) compressedPageSize = r.i32(h.type)
    else if (h.id === 5 && h.type === 12) {
      let numValues: number | undefined
      let encoding: number | undefined
      const levels: (number | undefined)[] = []
      r.structBegin()
      for (let g = r.field(); g.type !== 0; g = r.field()) {
        if (g.id === 1) numValues = r.i32(g.type)
        else if (g.id === 2) encoding = r.i32(g.type)
        else if (g.id === 3 || g.id === 4) levels[g.id] = r.optI32(g.type)
        else r.skip(g.type)
      }
      r.structEnd()
      if (numValues === undefined || encoding === undefined) throw new RangeError("data page header lacks a required field")
      dataPage = { numValues, encoding, defLevelEncoding: levels[3], repLevelEncoding: levels[4] }
    } else r.skip(h.type)
  }
  r.structEnd()
  if (type === undefined || compressedPageSize === undefined) throw new RangeError("page header lacks a required field")
  return { header: { type, uncompressedPageSize, compressedPageSize, dataPage }, end: r.offset }
}

function writeSchema(w: ThriftWriter, columns: ColumnInfo[]): void {
  let count = 1
  for (const c of columns) count += c.type === "vector" ? 3 : 1
  w.listBegin(2, "struct", count)
  w.structBegin()
  w.string(4, "schema")
  w.i32(5, columns.length)
  w.structEnd()
  for (const c of columns) {
    if (c.type === "vector") {
      // required group <name> (LIST) { repeated group list { required float element; } }
      w.structBegin()
      w.i32(3, Repetition.REQUIRED)
      w.string(4, c.name)
      w.i32(5, 1)
      w.i32(6, Converted.LIST)
      w.structField(10) // LogicalType union
      w.structField(3) // LIST: ListType {}
      w.structEnd()
      w.structEnd()
      w.structEnd()
      w.structBegin()
      w.i32(3, Repetition.REPEATED)
      w.string(4, "list")
      w.i32(5, 1)
      w.structEnd()
      w.structBegin()
      w.i32(1, physicalType(c))
      w.i32(3, Repetition.REQUIRED)
      w.string(4, "element")
      w.structEnd()
      continue
    }
    w.structBegin()
    w.i32(1, physicalType(c))
    w.i32(3, Repetition.REQUIRED)
    w.string(4, c.name)
    if (c.type === "string") {
      w.i32(6, Converted.UTF8)
      w.structField(10) // LogicalType union
      w.structField(1) // STRING: StringType {}
      w.structEnd()
      w.structEnd()
    }
    w.structEnd()
  }
}

function writeChunk(w: ThriftWriter, ch: ChunkMeta): void {
  const c = ch.column
  w.structBegin() // ColumnChunk
  w.i64(2, ch.offset)
  w.structField(3) // ColumnMetaData
  w.i32(1, physicalType(c))
  const encodings = c.type === "vector" ? [Encoding.PLAIN, Encoding.RLE] : [Encoding.PLAIN]
  w.listBegin(2, "i32", encodings.length)
  for (const e of encodings) w.listI32(e)
  const path = leafPath(c)
  w.listBegin(3, "string", path.length)
  for (const p of path) w.listString(p)
  w.i32(4, CODEC_UNCOMPRESSED)
  w.i64(5, ch.numValues)
  w.i64(6, ch.totalSize)
  w.i64(7, ch.totalSize)
  w.i64(9, ch.offset)
  if (ch.stats) {
    w.structField(12) // Statistics: legacy max/min, null_count, max_value/min_value
    w.binary(1, ch.stats.max)
    w.binary(2, ch.stats.min)
    w.i64(3, 0)
    w.binary(5, ch.stats.max)
    w.binary(6, ch.stats.min)
    w.structEnd()
  }
  w.structEnd()
  w.structEnd()
}

/** Serialised FileMetaData. */
export function fileMetadata(
  columns: ColumnInfo[],
  numRows: number,
  rowGroups: RowGroupMeta[],
  kv: Record<string, string>
): Uint8Array {
  const w = new ThriftWriter()
  w.structBegin()
  w.i32(1, 2) // version
  writeSchema(w, columns)
  w.i64(3, numRows)
  w.listBegin(4, "struct", rowGroups.length)
  for (const rg of rowGroups) {
    w.structBegin()
    w.listBegin(1, "struct", rg.chunks.length)
    for (const ch of rg.chunks) writeChunk(w, ch)
    const bytes = rg.chunks.reduce((s, ch) => s + ch.totalSize, 0)
    w.i64(2, bytes)
    w.i64(3, rg.numRows)
    if (rg.chunks.length > 0) w.i64(5, rg.chunks[0].offset)
    w.i64(6, bytes)
    w.structEnd()
  }
  const entries = Object.entries(kv)
  w.listBegin(5, "struct", entries.length)
  for (const [k, v] of entries) {
    w.structBegin()
    w.string(1, k)
    w.string(2, v)
    w.structEnd()
  }
  w.string(6, CREATED_BY)
  w.listBegin(7, "struct", columns.length) // column_orders: TypeDefinedOrder for every leaf
  for (let i = 0; i < columns.length; i++) {
    w.structBegin()
    w.structField(1)
    w.structEnd()
    w.structEnd()
  }
  w.structEnd()
  return w.bytes()
}
