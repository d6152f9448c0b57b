import { describe, expect, it } from "vitest"
import { bf16BitsToF32, decode, encode, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from "../src/index.js"

describe("float32 <-> BF16 / F16", () => {
  it("bf16 rounds to nearest even; NaN stays NaN", () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80)
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80) // tie -> even
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82) // tie -> even (up)
    expect(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81) // above the tie
    expect(f32ToBf16Bits(-2)).toBe(0xc000)
    expect(f32ToBf16Bits(Infinity)).toBe(0x7f80)
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN)))).toBe(true)
  })

  it("f16 rounds to nearest even, keeps subnormals, overflows to Inf", () => {
    expect([1, 65504, 65520, 2 ** -24, 2 ** -25, 1.5 * 2 ** -25, -0.5].map(f32ToF16Bits)).toEqual([0x3c00, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x0001, 0xb800])
    expect(f32ToF16Bits(-Infinity)).toBe(0xfc00)
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true)
    expect([0x3c00, 0x7bff, 0x0001, 0xb800, 0x7c00].map(f16BitsToF32)).toEqual([1, 65504, 2 ** -24, -0.5, Infinity])
  })

  it("every 16-bit pattern decodes and re-encodes to itself (NaNs aside)", () => {
    const bad: string[] = []
    for (let h = 0; h < 0x10000; h++) {
      const b = bf16BitsToF32(h)
      if (!Number.isNaN(b) && f32ToBf16Bits(b) !== h) bad.push(`bf16 ${h.toString(16)}`)
      const f = f16BitsToF32(h)
      if (!Number.isNaN(f) && f32ToF16Bits(f) !== h) bad.push(`f16 ${h.toString(16)}`)
    }
    expect(bad).toEqual([])
  })

  it("encode / decode are little endian and inverse on representable values", () => {
    const v = new Float32Array([1, -2, 0.5, 65504])
    expect(Array.from(encode(v, "BF16"))).toEqual([0x80, 0x3f, 0x00, 0xc0, 0x00, 0x3f, 0x80, 0x47])
    expect(Array.from(encode(v, "F16").subarray(0, 4))).toEqual([0x00, 0x3c, 0x00, 0xc0])
    for (const d of ["F32", "F16", "BF16"] as const) expect(Array.from(decode(encode(v, d), d))).toEqual(d === "BF16" ? [1, -2, 0.5, 65536] : [1, -2, 0.5, 65504])
    const odd = Buffer.concat([Buffer.from([9]), Buffer.from(encode(v, "F32"))]).subarray(1) // unaligned source
    expect(Array.from(decode(odd, "F32"))).toEqual([1, -2, 0.5, 65504])
  })
})
