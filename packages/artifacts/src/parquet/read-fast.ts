/**
 * Fast reader for files written by this package's writer (created_by "conceptscope-parquet").
 * Fixed-width values are read from disk straight into the destination typed array; only the
 * page header (and level runs for vectors) are read separately.
 */
import type { FileHandle } from "node:fs/promises"
import type { ColumnChunk, FileMetaData } from "hyparquet"
import { LITTLE_ENDIAN } from "./encode-values.js"
import { ParquetError } from "./errors.js"
import { readExact } from "./file-io.js"
import { readPageHeader } from "./footer.js"
import { COLUMNS_KEY, CREATED_BY_PREFIX, Encoding, ENCODING_NAMES, leafPath, PAGE_DATA, PAGE_TYPE_NAMES } from "./format.js"
import { allocateColumn, type Column, type ColumnInfo, type Table } from "./table.js"

/** Column list stored by our writer, or undefined when the file is not ours. */
export function ownColumns(meta: FileMetaData): ColumnInfo[] | undefined {
  if (!meta.created_by?.startsWith(CREATED_BY_PREFIX) || !LITTLE_ENDIAN) return undefined
  const kv = meta.key_value_metadata?.find((e) => e.key === COLUMNS_KEY)
  if (kv?.value === undefined) return undefined
  try {
    const cols = JSON.parse(kv.value) as ColumnInfo[]
    return Array.isArray(cols) ? cols : undefined
  } catch {
    return undefined
  }
}

/** Bytes per row of a fixed-width column; undefined for bool and string. */
const fixedWidth = (c: ColumnInfo): number | undefined => {
  switch (c.type) {
    case "int32":
    case "float32":
      return 4
    case "int64":
    case "float64":
      return 8
    case "vector":
      return 4 * (c.dim ?? 0)
    default:
      return undefined
  }
}

/** Name of an enum value for messages (the number itself when unknown). */
const enumName = (names: readonly string[], v: number | undefined): string => (v === undefined ? "undefined" : (names[v] ?? String(v)))

/** Parse the page header at the start of `head`; returns the body offset within `head`. */
function checkHeader(head: Uint8Array, chunkLen: number, numValues: number, file: string, field: string): number {
  let parsed
  try {
    parsed = readPageHeader(head)
  } catch {
    throw new ParquetError({ file, field, reason: "unreadable page header" })
  }
  const { header, end } = parsed
  const dp = header.dataPage
  if (header.type !== PAGE_DATA || dp?.encoding !== Encoding.PLAIN || dp.numValues !== numValues)
    throw new ParquetError({
      file,
      field,
      reason: `unexpected page layout (${enumName(PAGE_TYPE_NAMES, header.type)}, ${enumName(ENCODING_NAMES, dp?.encoding)}, ${dp?.numValues} values)`
    })
  if (end + header.compressedPageSize !== chunkLen) throw new ParquetError({ file, field, reason: "column chunk holds more than one page" })
  return end
}

/** Read one column chunk of `rows` rows into `out` starting at row `row0`. */
async function readChunk(
  fh: FileHandle,
  chunk: ColumnChunk,
  info: ColumnInfo,
  out: Column,
  rows: number,
  row0: number,
  file: string
): Promise<void> {
  const md = chunk.meta_data
  const field = info.name
  if (!md || md.path_in_schema.join(".") !== leafPath(info).join("."))
    throw new ParquetError({ file, field, reason: "column chunk does not match the stored column list" })
  if (md.codec !== "UNCOMPRESSED") throw new ParquetError({ file, field, reason: `unexpected codec ${md.codec}` })
  const start = Number(md.data_page_offset)
  const len = Number(md.total_compressed_size)
  const numValues = info.type === "vector" ? rows * (info.dim ?? 0) : rows
  const width = fixedWidth(info)
  if (width !== undefined) {
    const valueBytes = rows * width
    const prefix = len - valueBytes
    if (prefix <= 0) throw new ParquetError({ file, field, reason: "column chunk smaller than its values" })
    const head = new Uint8Array(prefix)
    await readExact(fh, head, start, file)
    const body = checkHeader(head, len, numValues, file, field)
    if (info.type === "vector") {
      // rep levels and def levels, each with a 4-byte length prefix, then the values
      const dv = new DataView(head.buffer)
      const repLen = dv.getUint32(body, true)
      const defLen = dv.getUint32(body + 4 + repLen, true)
      if (body + 8 + repLen + defLen !== prefix) throw new ParquetError({ file, field, reason: "level runs do not match the value count" })
    } else if (body !== prefix) throw new ParquetError({ file, field, reason: "page body does not match the value count" })
    const data = out.data as Int32Array | BigInt64Array | Float32Array | Float64Array
    const dest = new Uint8Array(data.buffer, data.byteOffset + row0 * width, valueBytes)
    await readExact(fh, dest, start + prefix, file)
    return
  }
  const bytes = Buffer.allocUnsafe(len)
  await readExact(fh, bytes, start, file)
  let off = checkHeader(bytes, len, numValues, file, field)
  if (out.type === "bool") {
    if (len - off !== Math.ceil(rows / 8)) throw new ParquetError({ file, field, reason: "boolean page size mismatch" })
    for (let i = 0; i < rows; i++) out.data[row0 + i] = (bytes[off + (i >> 3)] >> (i & 7)) & 1
  } else if (out.type === "string") {
    for (let i = 0; i < rows; i++) {
      if (off + 4 > len) throw new ParquetError({ file, field, reason: "string page truncated" })
      const n = bytes.readUInt32LE(off)
      if (off + 4 + n > len) throw new ParquetError({ file, field, reason: "string page truncated" })
      out.data[row0 + i] = bytes.toString("utf8", off + 4, off + 4 + n)
      off += 4 + n
    }
  }
}

/** Read the chosen columns of one of our files. */
export async function readFast(
  fh: FileHandle,
  meta: FileMetaData,
  stored: ColumnInfo[],
  wanted: ColumnInfo[],
  file: string
): Promise<Table> {
  const numRows = Number(meta.num_rows)
  const out = wanted.map((c) => allocateColumn(c, numRows))
  // every (row group, column) chunk lands in its own slice of the output: read them concurrently
  const reads: Promise<void>[] = []
  let row0 = 0
  for (const rg of meta.row_groups) {
    const rows = Number(rg.num_rows)
    if (rg.columns.length !== stored.length)
      throw new ParquetError({ file, reason: `row group has ${rg.columns.length} column chunks, expected ${stored.length}` })
    for (let j = 0; j < wanted.length; j++) {
      const k = stored.findIndex((c) => c.name === wanted[j].name)
      reads.push(readChunk(fh, rg.columns[k], wanted[j], out[j], rows, row0, file))
    }
    row0 += rows
  }
  await Promise.all(reads)
  if (row0 !== numRows) throw new ParquetError({ file, reason: `row groups hold ${row0} rows, footer says ${numRows}` })
  return { numRows, columns: out }
}
