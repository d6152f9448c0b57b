/**
 * float32 <-> bf16 / f16 bit conversions, both directions round-to-nearest-even, as torch's .to() does.
 * bf16: the upper 16 bits of the float32 (8 exponent bits, 7 mantissa bits).
 * f16: IEEE binary16 (5 exponent bits, 10 mantissa bits), with subnormals, overflow to +-Inf.
 */
export type Dtype = "f32" | "bf16" | "f16"

export const SAFETENSORS_DTYPE: Record<Dtype, "F32" | "BF16" | "F16"> = { f32: "F32", bf16: "BF16", f16: "F16" }
export const TORCH_DTYPE: Record<Dtype, string> = { f32: "float32", bf16: "bfloat16", f16: "float16" }
export const BYTES_PER_ELEMENT: Record<Dtype, number> = { f32: 4, bf16: 2, f16: 2 }

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** bits of float32(x) -> bf16 bits, round-to-nearest-even; NaN stays a quiet NaN. */
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

/** Little-endian bytes of `values` in `dtype` (float32 values are viewed, not copied). */
export function encode(values: Float32Array, dtype: Dtype): Uint8Array {
  if (dtype === "f32") return new Uint8Array(values.buffer, values.byteOffset, values.byteLength)
  const out = new Uint16Array(values.length)
  const conv = dtype === "bf16" ? f32ToBf16Bits : f32ToF16Bits
  for (let i = 0; i < values.length; i++) out[i] = conv(values[i])
  return new Uint8Array(out.buffer)
}

/** Inverse of `encode`, for readers and tests: bytes (little-endian) -> float32 values. */
export function decode(bytes: Uint8Array, dtype: Dtype): Float32Array {
  const copy = new Uint8Array(bytes.length) // an aligned copy (Buffer#slice would be a view)
  copy.set(bytes)
  if (dtype === "f32") return new Float32Array(copy.buffer)
  const halves = new Uint16Array(copy.buffer)
  const conv = dtype === "bf16" ? bf16BitsToF32 : f16BitsToF32
  const out = new Float32Array(halves.length)
  for (let i = 0; i < halves.length; i++) out[i] = conv(halves[i])
  return out
}
