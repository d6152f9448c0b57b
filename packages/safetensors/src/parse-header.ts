import { BYTES_PER_ELEMENT, type Dtype, isDtype } from "./dtypes.js"
import { SafetensorsError } from "./errors.js"

/**
 * Header parsing and validation, the one place where a file's layout is checked:
 *   bytes 0..8      N, the header length, unsigned 64-bit little endian
 *   bytes 8..8+N    UTF-8 JSON object { name: { dtype, shape: [d0, ...], data_offsets: [begin, end] }, ...,
 *                   "__metadata__"?: { key: string } }, possibly padded with trailing spaces
 *   bytes 8+N..     the data section; offsets are relative to its start, end exclusive
 * Rules (each failure is a SafetensorsError naming the file, and the tensor when one is at fault):
 *   file has the 8 length bytes; N <= 100,000,000; 8 + N <= file size; header is UTF-8, begins with "{"
 *   and parses as JSON (so is an object); __metadata__ (optional) maps keys to strings; every other entry is an object
 *   with a known dtype, a shape of non-negative integers and data_offsets [begin, end], 0 <= begin <= end,
 *   with end - begin = prod(shape) * dtype size and end inside the data section; sorted by offsets, the
 *   tensors tile the data section exactly: no two overlap, no bytes before the first, between two or
 *   after the last.
 */
export const MAX_HEADER_BYTES = 100_000_000

export interface HeaderEntry {
  readonly dtype: Dtype
  readonly shape: readonly number[]
  /** Byte offsets relative to the data section; end exclusive. */
  readonly begin: number
  readonly end: number
}

export interface ParsedHeader {
  /** In header order. */
  readonly tensors: ReadonlyMap<string, HeaderEntry>
  readonly metadata: Readonly<Record<string, string>>
}

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0

/** Checks the 8-byte length prefix against the file size; returns the header length N. */
export function checkHeaderLength(file: string, fileSize: number, prefix: Uint8Array | null): number {
  if (prefix === null || fileSize < 8) throw new SafetensorsError({ file, reason: `truncated: ${fileSize} bytes, no header length` })
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true)
  if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError({ file, reason: `header length ${n} exceeds the limit of ${MAX_HEADER_BYTES} bytes` })
  if (n > BigInt(fileSize - 8)) throw new SafetensorsError({ file, reason: `truncated: header length ${n} exceeds file size ${fileSize}` })
  return Number(n)
}

function parseJson(file: string, header: Uint8Array): Record<string, unknown> {
  let text: string
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(header)
  } catch {
    throw new SafetensorsError({ file, reason: "header is not valid UTF-8" })
  }
  if (!text.startsWith("{")) throw new SafetensorsError({ file, reason: `header does not begin with "{" (starts ${JSON.stringify(text.slice(0, 8))})` })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new SafetensorsError({ file, reason: `header is not JSON: ${(e as Error).message}` })
  }
  return json as Record<string, unknown> // JSON text that begins with "{" is an object
}

function parseMetadata(file: string, raw: unknown): Record<string, string> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new SafetensorsError({ file, reason: `__metadata__ is not an object of strings: ${JSON.stringify(raw)}` })
  }
  const metadata: Record<string, string> = {}
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string") throw new SafetensorsError({ file, reason: `__metadata__ value "${k}" is not a string: ${JSON.stringify(v)}` })
    metadata[k] = v
  }
  return metadata
}

function parseEntry(file: string, name: string, raw: unknown, dataSize: number): HeaderEntry {
  const bad = (reason: string) => new SafetensorsError({ file, tensor: name, reason })
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad("header entry is not an object")
  const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
  if (!isDtype(e.dtype)) throw bad(`unsupported dtype ${JSON.stringify(e.dtype)} (F32, F16 and BF16 are read)`)
  const dtype = e.dtype
  if (!Array.isArray(e.shape) || !e.shape.every(isCount)) throw bad(`bad shape ${JSON.stringify(e.shape)}`)
  const shape = e.shape as number[]
  const off = e.data_offsets
  if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount) || off[1] < off[0]) throw bad(`bad data_offsets ${JSON.stringify(off)}`)
  const [begin, end] = off as [number, number]
  const need = shape.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[dtype]
  if (!Number.isSafeInteger(need)) throw bad(`shape [${shape}] ${dtype} is too large (byte size overflows)`)
  if (end - begin !== need) throw bad(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes, shape [${shape}] ${dtype} needs ${need}`)
  if (end > dataSize) throw bad(`truncated: data ends at byte ${end} of the data section, which has ${dataSize} bytes`)
  return { dtype, shape, begin, end }
}

/** Sorted by (begin, end), the byte ranges must follow each other from 0 to dataSize without gap or overlap. */
function checkTiling(file: string, tensors: ReadonlyMap<string, HeaderEntry>, dataSize: number): void {
  const sorted = [...tensors].sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end)
  let at = 0
  let previous: [string, HeaderEntry] | undefined
  for (const [name, t] of sorted) {
    if (t.begin < at) {
      const [pName, p] = previous as [string, HeaderEntry]
      throw new SafetensorsError({ file, tensor: name, reason: `bytes [${t.begin}, ${t.end}) overlap tensor "${pName}" at [${p.begin}, ${p.end})` })
    }
    if (t.begin > at) {
      throw new SafetensorsError({ file, tensor: name, reason: `gap: data section bytes [${at}, ${t.begin}) before this tensor belong to no tensor` })
    }
    at = t.end
    previous = [name, t]
  }
  if (at !== dataSize) {
    throw new SafetensorsError({ file, reason: `${dataSize - at} bytes after the last tensor belong to no tensor (data section [${at}, ${dataSize}))` })
  }
}

/** Parses and validates the N header bytes of a file whose data section holds `dataSize` bytes. */
export function parseHeader(file: string, header: Uint8Array, dataSize: number): ParsedHeader {
  const json = parseJson(file, header)
  let metadata: Record<string, string> = {}
  const tensors = new Map<string, HeaderEntry>()
  for (const [name, raw] of Object.entries(json)) {
    if (name === "__metadata__") metadata = parseMetadata(file, raw)
    else tensors.set(name, parseEntry(file, name, raw, dataSize))
  }
  checkTiling(file, tensors, dataSize)
  return { tensors, metadata }
}
