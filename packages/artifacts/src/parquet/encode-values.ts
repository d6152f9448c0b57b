/**
 * PLAIN value encoders and RLE level encoders for one column chunk (rows [r0, r1)).
 * Fixed-width numeric columns are returned as views on the caller's typed array (no copy),
 * so the file writer can hand them straight to writev.
 */
import type { Column } from "./table.js"

export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Bytes [r0*w, r1*w) of a typed array, as a view. */
const byteView = (a: ArrayBufferView, r0: number, r1: number, width: number): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset + r0 * width, (r1 - r0) * width)

/** Booleans bit-packed LSB first: [ceil(n/8)] bytes. */
export function encodeBools(data: Uint8Array, r0: number, r1: number): Uint8Array {
  const n = r1 - r0
  const out = new Uint8Array(Math.ceil(n / 8))
  for (let i = 0; i < n; i++) if (data[r0 + i]) out[i >> 3] |= 1 << (i & 7)
  return out
}

/** BYTE_ARRAY PLAIN: per value a 4-byte LE length then the UTF-8 bytes. */
export function encodeStrings(data: string[], r0: number, r1: number): Uint8Array {
  let total = 0
  for (let i = r0; i < r1; i++) total += 4 + Buffer.byteLength(data[i], "utf8")
  const out = Buffer.allocUnsafe(total)
  let off = 0
  for (let i = r0; i < r1; i++) {
    const written = out.write(data[i], off + 4, "utf8")
    out.writeUInt32LE(written, off)
    off += 4 + written
  }
  return new Uint8Array(out.buffer, out.byteOffset, total)
}

/** PLAIN values of a flat (non-vector) column or the float32 leaf of a vector column. */
export function encodePlainValues(c: Column, r0: number, r1: number): Uint8Array {
  switch (c.type) {
    case "int32":
    case "float32":
      return byteView(c.data, r0, r1, 4)
    case "int64":
    case "float64":
      return byteView(c.data, r0, r1, 8)
    case "bool":
      return encodeBools(c.data, r0, r1)
    case "string":
      return encodeStrings(c.data, r0, r1)
    case "vector":
      return byteView(c.data, r0, r1, 4 * c.dim)
  }
}

const varintLength = (n: number): number => {
  let len = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    len++
  }
  return len
}

const writeVarint = (out: Uint8Array, off: number, n: number): number => {
  while (n >= 0x80) {
    out[off++] = (n % 0x80) | 0x80
    n = Math.floor(n / 0x80)
  }
  out[off++] = n
  return off
}

/** Longest RLE run we emit: keeps `count << 1` inside an unsigned 32-bit varint for every reader. */
const MAX_RUN = 2 ** 30

/** Append RLE runs (bit width 1, so one value byte per run) of `count` copies of `value`. */
function rleRuns(parts: number[][], value: number, count: number): void {
  while (count > 0) {
    const c = Math.min(count, MAX_RUN)
    parts.push([c, value])
    count -= c
  }
}

/** Serialise runs with the 4-byte LE length prefix used by data page v1 levels. */
function runsToBytes(runs: number[][]): Uint8Array {
  let len = 0
  for (const [c] of runs) len += varintLength(c * 2) + 1
  const out = new Uint8Array(4 + len)
  new DataView(out.buffer).setUint32(0, len, true)
  let off = 4
  for (const [c, v] of runs) {
    off = writeVarint(out, off, c * 2)
    out[off++] = v
  }
  return out
}

/**
 * Repetition levels of `rows` lists of length `dim` (max rep 1): per row a run of one 0 then a
 * run of dim-1 ones. Built from a per-row template copied `rows` times.
 * Returns [4 + len] bytes.
 */
export function vectorRepLevels(rows: number, dim: number): Uint8Array {
  if (rows === 0) return runsToBytes([])
  if (dim === 1) {
    const runs: number[][] = []
    rleRuns(runs, 0, rows)
    return runsToBytes(runs)
  }
  const row = [0x02, 0x00] // run of 1 zero
  const tail = new Uint8Array(varintLength((dim - 1) * 2) + 1)
  writeVarint(tail, 0, (dim - 1) * 2)
  tail[tail.length - 1] = 1
  const rowLen = row.length + tail.length
  const out = new Uint8Array(4 + rows * rowLen)
  new DataView(out.buffer).setUint32(0, rows * rowLen, true)
  const template = new Uint8Array(rowLen)
  template.set(row, 0)
  template.set(tail, row.length)
  for (let r = 0, off = 4; r < rows; r++, off += rowLen) out.set(template, off)
  return out
}

/** Definition levels of `count` present, non-null leaf values (all equal to max def 1). */
export function vectorDefLevels(count: number): Uint8Array {
  const runs: number[][] = []
  rleRuns(runs, 1, count)
  return runsToBytes(runs)
}

/** Min/max statistics (little-endian bytes) for int32 and int64 chunks; undefined for other kinds. */
export function intStats(c: Column, r0: number, r1: number): { min: Uint8Array; max: Uint8Array } | undefined {
  if (r1 <= r0) return undefined
  if (c.type === "int32") {
    let lo = c.data[r0]
    let hi = lo
    for (let i = r0 + 1; i < r1; i++) {
      const v = c.data[i]
      if (v < lo) lo = v
      else if (v > hi) hi = v
    }
    return { min: new Uint8Array(new Int32Array([lo]).buffer), max: new Uint8Array(new Int32Array([hi]).buffer) }
  }
  if (c.type === "int64") {
    let lo = c.data[r0]
    let hi = lo
    for (let i = r0 + 1; i < r1; i++) {
      const v = c.data[i]
      if (v < lo) lo = v
      else if (v > hi) hi = v
    }
    return { min: new Uint8Array(new BigInt64Array([lo]).buffer), max: new Uint8Array(new BigInt64Array([hi]).buffer) }
  }
  return undefined
}
