import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { fusedAttention, fusedAttentionFits, fusedAttentionGrad, loadNative } from "../src/index.js"
import { PARALLEL_MACS } from "../src/overrides/attention.js"
import { bothWays, nativeOnly, rand, relErr, useWasm } from "./helpers.js"

const native = describe.runIf(loadNative().ok)
beforeAll(useWasm)

/** x [T, S, *] -> [T, S * r, *], each slice repeated r times in place (slice s serves s*r .. s*r + r - 1). */
const repeatSlices = (x: tf.Tensor, r: number): tf.Tensor => {
  const [T, S, c] = x.shape as number[]
  return tf.reshape(tf.tile(tf.reshape(x, [T, S, 1, c]), [1, 1, r, 1]), [T, S * r, c])
}

/**
 * The unfused reference, on stock kernels: per product n, softmax(cap(scale q_n k_kv^T) + mask_m) v_kv,
 * kv = n / G (keys repeated as HF's repeat_kv), m = n / (N / M).
 */
function attentionOps(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor, scale: number, softcap = 0): [tf.Tensor, tf.Tensor] {
  const N = q.shape[1] as number
  const heads = (x: tf.Tensor) => tf.transpose(x, [1, 0, 2]) // [T, N, *] -> [N, T, *]
  const kr = repeatSlices(k, N / (k.shape[1] as number)) // [Tk, N, dh]
  const vr = repeatSlices(v, N / (v.shape[1] as number)) // [Tk, N, dh]
  let s = tf.mul(tf.matMul(heads(q), heads(kr), false, true), scale) // [N, Tq, Tk]
  if (softcap > 0) s = tf.mul(tf.tanh(tf.div(s, softcap)), softcap)
  const P = tf.softmax(tf.add(s, heads(repeatSlices(mask, N / (mask.shape[1] as number))))) // [N, Tq, Tk]
  return [heads(tf.matMul(P, heads(vr))), P] // [Tq, N, dh], [N, Tq, Tk]
}

const causal = (t: number): tf.Tensor => {
  const m = new Float32Array(t * t)
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) m[i * t + j] = -1e9
  return tf.tensor3d(m, [t, 1, t])
}

/** A random additive mask [Tq, M, Tk] with about a third of the entries at -1e9 (never a whole row). */
const randomMask = (tq: number, m: number, tk: number): tf.Tensor => {
  const vals = new Float32Array(tq * m * tk)
  for (let i = 0; i < vals.length; i++) vals[i] = (i * 7919) % 3 === 0 && i % tk !== 0 ? -1e9 : ((i * 31) % 11) / 10 - 0.5
  return tf.tensor3d(vals, [tq, m, tk])
}

/**
 * HF-style decoder mask [Tq, B, Tk] after `past` cached positions: causal, left padding of pad[b] keys per
 * batch row (query rows inside the padding see no key at all), a sliding window when given.
 */
const decoderMask = (tq: number, pad: number[], past: number, window?: number): tf.Tensor => {
  const B = pad.length
  const tk = past + tq
  const vals = new Float32Array(tq * B * tk)
  for (let i = 0; i < tq; i++)
    for (let b = 0; b < B; b++)
      for (let j = 0; j < tk; j++) {
        const qa = past + i
        const ok = j <= qa && j >= pad[b] && (window === undefined || qa - j < window)
        if (!ok) vals[(i * B + b) * tk + j] = -1e9
      }
  return tf.tensor3d(vals, [tq, B, tk])
}

native("fused attention (native/attention.h) against the unfused ops", () => {
  // name, Tq, Tk, N, key/value products, dh, mask
  const cases: [string, number, number, number, number, number, () => tf.Tensor][] = [
    ["causal self-attention, mask shared by all products", 9, 9, 6, 6, 5, () => causal(9)],
    ["cross lengths Tq 4, Tk 11, a mask per product", 4, 11, 3, 3, 7, () => randomMask(4, 3, 11)],
    ["one query (a KV-cache step), one head dim", 1, 13, 8, 8, 1, () => randomMask(1, 1, 13)],
    ["grouped-query 3:1 (12 products over 4 key/value products), a mask per batch row", 6, 6, 12, 4, 4, () => randomMask(6, 2, 6)],
    // 3 query blocks (the last one partial): key ends differ per block and per batch row, fully masked rows
    ["70 queries after 5 cached keys, left padding per batch row, grouped-query 2:1", 70, 75, 4, 2, 8, () => decoderMask(70, [0, 41], 5)],
    ["sliding window of 20 over 70 queries", 70, 70, 2, 2, 8, () => decoderMask(70, [3], 0, 20)],
    // over PARALLEL_MACS: the products are split over threads (at key/value group boundaries)
    ["large enough to run on several threads, grouped-query 2:1", 64, 64, 34, 17, 32, () => causal(64)]
  ]
  for (const [name, Tq, Tk, N, Nkv, dh, mk] of cases) {
    it(`${name}: output, pattern and gradients within 1e-5`, () => {
      const scale = 1 / Math.sqrt(dh)
      const made = [rand([Tq, N, dh]), rand([Tk, Nkv, dh]), rand([Tk, Nkv, dh]), mk(), rand([Tq, N, dh])]
      const inputs = () => made
      const ref = bothWays(() => {
        const [q, k, v, mask, dz] = inputs()
        const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(attentionOps(a, b, c, mask, scale)[0], dz))
        return [...attentionOps(q, k, v, mask, scale), ...tf.grads(loss)([q, k, v])]
      }).stock
      const got = nativeOnly(() => {
        const [q, k, v, mask, dz] = inputs()
        expect(fusedAttentionFits(q, k, v, mask)).toBe(true)
        const [z, P] = fusedAttention(q, k, v, mask, scale)
        return [z, P, ...fusedAttentionGrad(dz, q, k, v, P, scale)]
      })
      expect(relErr(got, ref)).toBeLessThan(1e-5)
      tf.dispose(made)
    })
  }

  it("the split over threads gives the same bits every call", () => {
    expect(2 * 34 * 64 * 64 * 32).toBeGreaterThanOrEqual(PARALLEL_MACS)
    const made = [rand([64, 34, 32]), rand([64, 17, 32]), rand([64, 17, 32]), causal(64), rand([64, 34, 32])]
    const [q, k, v, mask, dz] = made
    const once = () => nativeOnly(() => { const [z, P] = fusedAttention(q, k, v, mask, 0.2); return [z, ...fusedAttentionGrad(dz, q, k, v, P, 0.2)] })
    const a = once()
    const b = once()
    for (let i = 0; i < a.length; i++) expect(Buffer.from(a[i].buffer).equals(Buffer.from(b[i].buffer))).toBe(true)
    tf.dispose(made)
  })

  it("soft-capped scores (Gemma-2): forward within 1e-5", () => {
    const made = [rand([5, 4, 8]).mul(4), rand([5, 2, 8]).mul(4), rand([5, 2, 8]), causal(5)]
    const [q, k, v, mask] = made
    const ref = bothWays(() => attentionOps(q, k, v, mask, 0.35, 2.5)).stock
    const got = nativeOnly(() => fusedAttention(q, k, v, mask, 0.35, 2.5))
    expect(relErr(got, ref)).toBeLessThan(1e-5)
    tf.dispose(made)
  })

  it("masked entries get exactly zero probability", () => {
    const [P] = nativeOnly(() => fusedAttention(rand([5, 2, 3]), rand([5, 2, 3]), rand([5, 2, 3]), causal(5), 0.5)[1])
    for (let n = 0; n < 2; n++) for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) expect(P[n * 25 + i * 5 + j]).toBe(0)
  })

  it("refuses shapes it does not handle (the caller falls back)", () => {
    const q = tf.zeros([4, 2, 3])
    expect(fusedAttentionFits(q, tf.zeros([4, 2, 3]), tf.zeros([4, 2, 3]), tf.zeros([4, 3, 4]))).toBe(false) // mask M = 3 does not divide N = 2
    expect(fusedAttentionFits(tf.zeros([4, 6, 3]), tf.zeros([4, 4, 3]), tf.zeros([4, 4, 3]), tf.zeros([4, 1, 4]))).toBe(false) // 4 kv products do not divide 6
    expect(fusedAttentionFits(q, tf.zeros([4, 2, 5]), tf.zeros([4, 2, 5]), tf.zeros([4, 1, 4]))).toBe(false) // dh differs
    expect(fusedAttentionFits(q, tf.zeros([4, 2, 3], "int32"), tf.zeros([4, 2, 3]), tf.zeros([4, 1, 4]))).toBe(false)
    tf.dispose(q)
  })
})
