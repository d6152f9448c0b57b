import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { FUSED_KERNEL_NAMES as F, ATTENTION_KERNEL_NAMES as A } from "@conceptscope/kernels"
import { activateWebgpu } from "../src/index.js"
import { requireWebgpu } from "./require-webgpu.js"

/**
 * Each WGSL kernel against the unfused tfjs ops it replaces, computed on tfjs's cpu backend (float32,
 * plain loops) from the same inputs; gradients against tf.grads of the unfused forward.
 * Tolerance: |gpu - ref| <= 2e-5 + 2e-4 |ref| (float32 sums in another order, the driver's exp/tanh).
 */

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}) =>
  tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor | tf.Tensor[]
const list = (r: tf.Tensor | tf.Tensor[]) => (Array.isArray(r) ? r : [r])

let seed = 12345
function rand(shape: number[], scale = 1): { shape: number[]; data: Float32Array } {
  const n = shape.reduce((a, b) => a * b, 1)
  const data = new Float32Array(n)
  for (let j = 0; j < n; j++) {
    seed = (seed * 1103515245 + 12345) >>> 0
    data[j] = ((seed / 2 ** 32) * 2 - 1) * scale
  }
  return { shape, data }
}
type Arr = ReturnType<typeof rand>
const T = (a: Arr) => tf.tensor(a.data, a.shape)

/** Run fn on tfjs's cpu backend and read its tensors back; the webgpu backend is active again after. */
async function onCpu(fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend("cpu")
  const out = tf.tidy(fn)
  const data = out.map((t) => t.dataSync() as Float32Array)
  tf.dispose(out)
  await tf.setBackend("webgpu")
  return data
}
async function onGpu(fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  const out = tf.tidy(fn)
  const data = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>))
  tf.dispose(out)
  return data
}
function close(gpu: Float32Array[], ref: Float32Array[]) {
  expect(gpu.length).toBe(ref.length)
  gpu.forEach((g, k) => {
    expect(g.length).toBe(ref[k].length)
    let worst = 0
    for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j] - ref[k][j]) / (2e-5 + 2e-4 * Math.abs(ref[k][j])))
    expect(worst, `output ${k}`).toBeLessThanOrEqual(1)
  })
}

const C = Math.sqrt(2 / Math.PI)
const gelu = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(C, tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))))
const silu = (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x))

describe.skipIf(!requireWebgpu())("WGSL kernels vs the unfused ops", () => {
  beforeAll(async () => {
    await activateWebgpu({ hardwareOnly: false })
  })

  it("GELU and its gradient (rows wider than a workgroup, odd sizes)", async () => {
    const x = rand([37, 129], 4)
    const dy = rand([37, 129])
    const ref = await onCpu(() => [gelu(T(x)), tf.grad((a: tf.Tensor) => gelu(a))(T(x), T(dy))])
    close(await onGpu(() => [run(F.gelu, { x: T(x) }) as tf.Tensor, run(F.geluGrad, { x: T(x), dy: T(dy) }) as tf.Tensor]), ref)
  })

  it("LayerNorm forward (y, xhat, rstd) and backward (dx, dw, db)", async () => {
    for (const d of [48, 300]) {
      const x = rand([2, 17, d], 3)
      const w = rand([d])
      const b = rand([d])
      const dy = rand([2, 17, d])
      const eps = 1e-5
      const ln = (a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, -1, true)
        return tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, eps))), ww), bb)
      }
      const ref = await onCpu(() => {
        const { mean, variance } = tf.moments(T(x), -1, true)
        const rstd = tf.div(1, tf.sqrt(tf.add(variance, eps)))
        const g = tf.grads((a: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => ln(a, ww, bb))([T(x), T(w), T(b)], T(dy))
        return [ln(T(x), T(w), T(b)), tf.mul(tf.sub(T(x), mean), rstd), rstd, ...g]
      })
      const gpu = await onGpu(() => {
        const [y, xhat, rstd] = run(F.layerNorm, { x: T(x), w: T(w), b: T(b) }, { eps }) as tf.Tensor[]
        return [y, xhat, rstd, ...list(run(F.layerNormGrad, { dy: T(dy), xhat, rstd, w: T(w) }))]
      })
      close(gpu, ref)
    }
  })

  it("RMSNorm forward and backward, plain and Gemma's (1 + w)", async () => {
    for (const onePlus of [0, 1]) {
      const x = rand([23, 96], 2)
      const w = rand([96])
      const dy = rand([23, 96])
      const eps = 1e-6
      const rms = (a: tf.Tensor, ww: tf.Tensor) => tf.mul(tf.mul(a, tf.rsqrt(tf.add(tf.mean(tf.square(a), -1, true), eps))), onePlus ? tf.add(1, ww) : ww)
      const ref = await onCpu(() => [rms(T(x), T(w)), ...tf.grads(rms)([T(x), T(w)], T(dy))])
      const gpu = await onGpu(() => [run(F.rmsNorm, { x: T(x), w: T(w) }, { eps, onePlus }) as tf.Tensor, ...list(run(F.rmsNormGrad, { dy: T(dy), x: T(x), w: T(w) }, { eps, onePlus }))])
      close(gpu, ref)
    }
  })

  it("rotary embedding: x cos + rotate_half(x) sin", async () => {
    const [rows, heads, dim] = [11, 3, 16]
    const x = rand([rows, heads, dim])
    const cos = rand([rows, 1, dim])
    const sin = rand([rows, 1, dim])
    const ref = await onCpu(() => {
      const xt = T(x)
      const [a, b] = tf.split(xt, 2, 2)
      return [tf.add(tf.mul(xt, T(cos)), tf.mul(tf.concat([tf.neg(b), a], 2), T(sin)))]
    })
    close(await onGpu(() => [run(F.rope, { x: T(x), cos: T(cos), sin: T(sin) }) as tf.Tensor]), ref)
  })

  it("gated MLP act(g) * u and its gradient, SiLU and tanh GELU", async () => {
    for (const [kind, act] of [[0, silu], [1, gelu]] as const) {
      const g = rand([9, 70], 5)
      const u = rand([9, 70])
      const dy = rand([9, 70])
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.mul(act(a), b)
      const ref = await onCpu(() => [f(T(g), T(u)), ...tf.grads(f)([T(g), T(u)], T(dy))])
      const gpu = await onGpu(() => [run(F.gatedAct, { g: T(g), u: T(u) }, { kind }) as tf.Tensor, ...list(run(F.gatedActGrad, { dy: T(dy), g: T(g), u: T(u) }, { kind }))])
      close(gpu, ref)
    }
  })

  it("cross-entropy over scored rows (loss, logsumexp) and its gradient", async () => {
    const [N, V] = [13, 2100]
    const x = rand([N, V], 6)
    const targets = Int32Array.from({ length: N }, (_, r) => (r % 4 === 3 ? -1 : (r * 977) % V))
    const scale = 1 / 10
    const ref = await onCpu(() => {
      const lse = tf.logSumExp(T(x), 1)
      const scored = Array.from(targets).map((t) => (t >= 0 ? 1 : 0))
      const picked = tf.sum(tf.mul(T(x), tf.oneHot(tf.tensor1d(Array.from(targets).map((t) => Math.max(t, 0)), "int32"), V)), 1)
      const mask = tf.tensor1d(scored)
      const loss = tf.reshape(tf.sum(tf.mul(tf.sub(lse, picked), mask)), [1])
      const onehot = tf.oneHot(tf.tensor1d(Array.from(targets), "int32"), V)
      const grad = tf.mul(tf.mul(tf.sub(tf.softmax(T(x)), onehot), tf.reshape(mask, [N, 1])), scale)
      return [loss, lse, grad]
    })
    const gpu = await onGpu(() => {
      const [loss, lse] = run(F.crossEntropy, { x: T(x) }, { targets }) as tf.Tensor[]
      return [loss, lse, run(F.crossEntropyGrad, { x: T(x), lse }, { targets, scale }) as tf.Tensor]
    })
    close(gpu, ref)
  })

  it("attention with grouped keys and per-batch causal masks, forward (z, P) and backward (dq, dk, dv); soft-capped forward", async () => {
    const [Tq, B, H, G, dh] = [19, 2, 4, 2, 8]
    const N = B * H
    const Tk = Tq
    const q = rand([Tq, N, dh])
    const k = rand([Tk, N / G, dh])
    const v = rand([Tk, N / G, dh])
    const dz = rand([Tq, N, dh])
    // mask [Tq, B, Tk]: causal, and batch 1 cannot see its first 3 keys (padding)
    const m = new Float32Array(Tq * B * Tk)
    for (let i = 0; i < Tq; i++) for (let b = 0; b < B; b++) for (let j = 0; j < Tk; j++) m[(i * B + b) * Tk + j] = j > i || (b === 1 && j < 3 && i >= 3) ? -1e9 : 0
    const mask = { shape: [Tq, B, Tk], data: m }
    const scale = 1 / Math.sqrt(dh)
    for (const softcap of [0, 1.5]) {
      // unfused: per product n, kv = n / G, mask slice n / (N / B)
      const attend = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) => {
        const qn = tf.transpose(qq, [1, 0, 2]) // [N, Tq, dh]
        const kn = tf.gather(tf.transpose(kk, [1, 0, 2]), Array.from({ length: N }, (_, n) => Math.floor(n / G))) // [N, Tk, dh]
        const vn = tf.gather(tf.transpose(vv, [1, 0, 2]), Array.from({ length: N }, (_, n) => Math.floor(n / G)))
        let s = tf.mul(tf.matMul(qn, kn, false, true), scale) // [N, Tq, Tk]
        if (softcap > 0) s = tf.mul(tf.tanh(tf.div(s, softcap)), softcap)
        const mn = tf.gather(tf.transpose(T(mask), [1, 0, 2]), Array.from({ length: N }, (_, n) => Math.floor(n / H)))
        const P = tf.softmax(tf.add(s, mn))
        return { z: tf.transpose(tf.matMul(P, vn), [1, 0, 2]), P }
      }
      const ref = await onCpu(() => {
        const { z, P } = attend(T(q), T(k), T(v))
        const grads = softcap > 0 ? [] : tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => attend(a, b, c).z)([T(q), T(k), T(v)], T(dz))
        return [z, P, ...grads]
      })
      const gpu = await onGpu(() => {
        const [z, P] = run(A.forward, { q: T(q), k: T(k), v: T(v), mask: T(mask) }, { scale, softcap }) as tf.Tensor[]
        const grads = softcap > 0 ? [] : list(run(A.backward, { dz: T(dz), q: T(q), k: T(k), v: T(v), P }, { scale }))
        return [z, P, ...grads]
      })
      close(gpu, ref)
    }
  })

  it("leaks no tensors and no GPU buffers across repeated calls", async () => {
    const x = rand([8, 64])
    const before = tf.memory().numTensors
    for (let r = 0; r < 3; r++) await onGpu(() => list(run(F.layerNorm, { x: T(x), w: T(rand([64])), b: T(rand([64])) }, { eps: 1e-5 })))
    expect(tf.memory().numTensors).toBe(before)
  })
})
