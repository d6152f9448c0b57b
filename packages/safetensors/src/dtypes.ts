/**
 * The element types this codec reads and writes, and their float32 conversions.
 *   F32   IEEE binary32, 4 bytes
 *   F16   IEEE binary16 (5 exponent bits, 10 mantissa bits, subnormals), 2 bytes
 *   BF16  bfloat16: the upper 16 bits of a binary32 (8 exponent bits, 7 mantissa bits), 2 bytes
 * Bytes are little endian (the host is assumed little endian, as x86 and ARM are). float32 -> F16/BF16
 * rounds to nearest even, as torch's .to() does; NaN stays NaN, F16 overflow goes to +-Inf.
 */
export type Dtype = "F32" | "F16" | "BF16"

export const DTYPES: readonly Dtype[] = ["F32", "F16", "BF16"]
export const BYTES_PER_ELEMENT: Readonly<Record<Dtype, number>> = { F32: 4, F16: 2, BF16: 2 }

export const isDtype = (s: unknown): s is Dtype => typeof s === "string" && (DTYPES as readonly string[]).includes(s)

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** float32(x) -> bf16 bits, round-to-nearest-even; NaN stays a quiet NaN. */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x
  const bits = u32[0]
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x0040) & 0xffff
  // bits + 0x7fff + lsb stays below 2^32 for every non-NaN bit pattern
  return Math.floor((bits + 0x7fff + ((bits >>> 16) & 1)) / 65536) & 0xffff
}

export function bf16BitsToF32(h: number): number {
  u32[0] = (h & 0xffff) << 16
  return f32[0]
}

/** float32(x) -> IEEE half bits, round-to-nearest-even, subnormals kept, overflow -> Inf. */
export function f32ToF16Bits(x: number): number {
  f32[0] = x
  const bits = u32[0]
  const sign = (bits >>> 16) & 0x8000
  const exp = (bits >>> 23) & 0xff
  const mant = bits & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x0200 : 0) // Inf / NaN
  const e = exp - 127 + 15 // rebiased exponent
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign // below half the smallest subnormal: +-0
    const full = mant | 0x800000 // implicit 1
    const shift = 14 - e // 14..24
    const half = 1 << (shift - 1)
    let m = full >>> shift
    const rem = full & ((1 << shift) - 1)
    if (rem > half || (rem === half && (m & 1) === 1)) m++ // may carry into the smallest normal: right bits
    return sign | m
  }
  let h = sign | (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++ // a carry bumps the exponent (to Inf at the top)
  return h
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const e = (h >>> 10) & 0x1f
  const m = h & 0x3ff
  if (e === 0) return sign * m * 2 ** -24
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN
  return sign * (1 + m / 1024) * 2 ** (e - 15)
}

/** Little-endian bytes of `values` stored as `dtype` (F32 values are viewed, not copied). */
export function encode(values: Float32Array, dtype: Dtype): Uint8Array {
  if (dtype === "F32") return new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
  const out = new Uint16Array(values.length)
  const conv = dtype === "BF16" ? f32ToBf16Bits : f32ToF16Bits
  for (let i = 0; i < values.length; i++) out[i] = conv(values[i])
  return new Uint8Array(out.buffer)
}

/**
 * Stored bytes (little endian, `dtype`) -> float32 values written to `out` (out.length values, so
 * bytes.length = out.length * BYTES_PER_ELEMENT[dtype]).
 */
export function decodeInto(bytes: Uint8Array, dtype: Dtype, out: Float32Array): Float32Array {
  const n = out.length
  if (dtype === "F32") {
    new Uint8Array(out.buffer, out.byteOffset, n * 4).set(bytes.subarray(0, n * 4))
    return out
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, n * 2)
  if (dtype === "BF16") {
    const bits = new Uint32Array(out.buffer, out.byteOffset, n) // bf16 -> f32 is a 16-bit shift
    for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16
  } else {
    for (let i = 0; i < n; i++) out[i] = f16BitsToF32(view.getUint16(2 * i, true))
  }
  return out
}

/** Stored bytes -> a new Float32Array (a convenience for tests and small tensors). */
export const decode = (bytes: Uint8Array, dtype: Dtype): Float32Array =>
  decodeInto(bytes, dtype, new Float32Array(bytes.length / BYTES_PER_ELEMENT[dtype]))
