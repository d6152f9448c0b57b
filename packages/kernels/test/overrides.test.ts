import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { fusedGelu, fusedGeluGrad, fusedLayerNorm, fusedLayerNormGrad, fusedRope, installWasmKernels, loadNative, uninstallWasmKernels } from "../src/index.js"
import { installedKernels } from "../src/wasm-backend.js"
import type { WasmBackend } from "../src/wasm-backend.js"
import { bothWays, nativeOnly, onCpu, rand, relErr, useWasm } from "./helpers.js"

const status = loadNative()
// CI installs libopenblas0-pthread; a machine without a compiler or BLAS skips these (the fallback
// suite below still runs)
const native = describe.runIf(status.ok)

beforeAll(useWasm)

native("native overrides agree with the stock wasm kernels", () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ["2D", [7, 5], [5, 3], false, false],
    ["2D, A transposed", [5, 7], [5, 3], true, false],
    ["2D, B transposed", [7, 5], [3, 5], false, true],
    ["2D, both transposed", [5, 7], [3, 5], true, true],
    ["batched", [2, 3, 5, 4], [2, 3, 4, 6], false, false],
    ["broadcast batch axes (stride-0 batches)", [1, 3, 5, 4], [2, 1, 4, 6], false, false],
    ["rank 2 x rank 3", [5, 4], [3, 4, 6], false, false],
    ["rank 3 x rank 2, B transposed", [3, 5, 4], [6, 4], false, true],
    ["batched, both transposed, odd sizes", [4, 9, 13], [4, 11, 9], true, true],
    ["K = 1", [6, 1], [1, 5], false, false]
  ]
  for (const [name, sa, sb, ta, tb] of cases) {
    it(`BatchMatMul ${name}`, async () => {
      const f = () => tf.matMul(rand(sa), rand(sb), ta, tb)
      // reference: the cpu backend on explicitly tiled inputs (tfjs's own kernels, cpu and wasm alike,
      // return too few values when both sides broadcast a batch axis)
      const tiled = () => {
        const [a, b] = [rand(sa), rand(sb)]
        const batch = sa.slice(0, -2).map((d, i) => Math.max(d, sb.slice(0, -2)[i] ?? 1))
        if (sa.length !== sb.length || batch.length === 0) return tf.matMul(a, b, ta, tb)
        return tf.matMul(tf.tile(a, sa.map((d, i) => (i < batch.length ? batch[i] / d : 1))), tf.tile(b, sb.map((d, i) => (i < batch.length ? batch[i] / d : 1))), ta, tb)
      }
      const ref = await onCpu(tiled)
      const { stock, native } = bothWays(f)
      expect(relErr(native, ref)).toBeLessThan(1e-5)
      if (!name.startsWith("broadcast")) expect(relErr(stock, ref)).toBeLessThan(1e-5)
    })
  }

  it("_FusedMatMul with a transpose flag and a bias gives the unfused answer (stock wasm 4.22 does not)", () => {
    const a = rand([5, 7])
    const b = rand([3, 5])
    const bias = rand([3])
    for (const activation of ["linear", "relu", "leakyrelu", "sigmoid", "elu", "relu6"] as const) {
      const unfused = bothWays(() => {
        const y = tf.add(tf.matMul(a, b, true, true), bias)
        return activation === "linear" ? y : activation === "leakyrelu" ? tf.leakyRelu(y, 0.2) : activation === "relu6" ? tf.relu6(y) : (tf[activation] as (t: tf.Tensor) => tf.Tensor)(y)
      }).stock
      const fused = nativeOnly(() => tf.fused.matMul({ a, b, transposeA: true, transposeB: true, bias, activation, leakyreluAlpha: 0.2 }))
      expect(relErr(fused, unfused)).toBeLessThan(1e-5)
    }
  })

  it("_FusedMatMul with a batched bias broadcast over rows", () => {
    const a = rand([2, 4, 6])
    const b = rand([2, 6, 3])
    const bias = rand([2, 1, 3])
    const ref = bothWays(() => tf.add(tf.matMul(a, b), bias)).stock
    const got = nativeOnly(() => tf.fused.matMul({ a, b, bias })) // stock wasm rejects a rank-3 bias
    expect(relErr(got, ref)).toBeLessThan(1e-5)
  })

  it("_FusedMatMul with a bias along the last axis ([N], [1, N]): every row of every batch entry starts from it", () => {
    const a = rand([3, 5, 7])
    const b = rand([3, 4, 7])
    for (const shape of [[4], [1, 4], [1, 1, 4]]) {
      const bias = rand(shape)
      const ref = bothWays(() => tf.relu(tf.add(tf.matMul(a, b, false, true), bias))).stock
      const got = nativeOnly(() => tf.fused.matMul({ a, b, transposeB: true, bias, activation: "relu" }))
      expect(relErr(got, ref)).toBeLessThan(1e-5)
    }
    const empty = nativeOnly(() => tf.fused.matMul({ a: tf.zeros([2, 0]), b: tf.zeros([0, 3]), bias: tf.tensor1d([1, 2, 3]) }))
    expect(Array.from(empty[0])).toEqual([1, 2, 3, 1, 2, 3]) // K = 0: the bias alone
  })

  it("a matmul whose output grows the wasm heap reads and writes the right memory", () => {
    const backend = tf.backend() as unknown as WasmBackend
    const a = rand([96, 256, 64])
    const b = rand([96, 64, 256])
    const before = backend.wasm.HEAPF32.buffer.byteLength
    const { stock, native } = bothWays(() => tf.sum(tf.matMul(a, b), 0)) // product [96, 256, 256]: 25 MB per run
    expect(relErr(native, stock)).toBeLessThan(1e-5)
    expect(backend.wasm.HEAPF32.buffer.byteLength).toBeGreaterThan(before)
    a.dispose()
    b.dispose()
  })

  for (const perm of [[1, 0], [0, 2, 1], [2, 0, 1], [0, 2, 1, 3], [3, 1, 0, 2], [0, 3, 1, 4, 2]]) {
    it(`Transpose perm ${perm}`, () => {
      const shape = [3, 4, 5, 2, 3].slice(0, perm.length)
      const { stock, native } = bothWays(() => tf.transpose(rand(shape), perm))
      expect(relErr(native, stock)).toBe(0)
    })
  }

  it("Slice and Unpack", () => {
    const x = rand([4, 5, 6])
    const { stock, native } = bothWays(() => [tf.slice(x, [1, 0, 2], [2, 5, 3]), tf.slice(x, [0, 3, 5], [-1, 2, 1]), ...tf.unstack(x, 1), ...tf.unstack(x, 2)])
    expect(relErr(native, stock)).toBe(0)
  })

  it("Sum over leading, middle, trailing and all axes", () => {
    const x = rand([6, 7, 8])
    const { stock, native } = bothWays(() => [tf.sum(x, 0), tf.sum(x, 1), tf.sum(x, 2), tf.sum(x, [0, 1]), tf.sum(x, [1, 2], true), tf.sum(x), tf.sum(x, [0, 2])])
    expect(relErr(native, stock)).toBeLessThan(1e-5)
  })

  it("Tanh", () => {
    const { stock, native } = bothWays(() => tf.tanh(tf.mul(rand([1000]), 4)))
    expect(relErr(native, stock)).toBeLessThan(1e-6)
  })

  it("Exp: relative error < 1e-6 over float's range, exact 0 and +inf beyond it", () => {
    const x = tf.concat([tf.mul(rand([5000]), 30), tf.tensor1d([-1e9, -200, -104, 0, 88.7, 89, 1e9])])
    const { stock, native } = bothWays(() => tf.exp(x))
    const n = native[0]
    const xs = x.dataSync()
    // against float64 Math.exp of the same float32 inputs (stock wasm's own Exp is off by up to ~3e-6)
    let worst = 0
    let worstStock = 0
    for (let i = 0; i < n.length; i++) {
      const t = Math.exp(xs[i])
      if (t > 1e-30 && t < 3e38) {
        worst = Math.max(worst, Math.abs(n[i] - t) / t)
        worstStock = Math.max(worstStock, Math.abs(stock[0][i] - t) / t)
      }
    }
    expect(worst).toBeLessThan(Math.max(1e-6, worstStock))
    expect([n[n.length - 7], n[n.length - 6], n[n.length - 5], n[n.length - 4], n[n.length - 2], n[n.length - 1]]).toEqual([0, 0, 0, 1, Infinity, Infinity])
    expect(Math.abs(n[n.length - 3] / Math.exp(Math.fround(88.7)) - 1)).toBeLessThan(1e-6) // e^88.7 sits next to FLT_MAX
  })

  it("gradients through matmul (all transpose forms), broadcasting, transpose, slice, unstack, sum and tanh", () => {
    const w1 = rand([2, 6, 5])
    const w2 = rand([4, 5])
    const bias = rand([4])
    const x = rand([2, 3, 6])
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor): tf.Scalar => {
      const h = tf.tanh(tf.matMul(d, a)) // [2, 3, 5]
      const g = tf.fused.matMul({ a: tf.reshape(h, [6, 5]), b, transposeB: true, bias: c, activation: "relu" }) // [6, 4]
      const t = tf.transpose(tf.reshape(g, [2, 3, 4]), [2, 0, 1]) // [4, 2, 3]
      const parts = tf.unstack(tf.slice(t, [0, 0, 1], [4, 2, 2]), 2) // 2 x [4, 2]
      return tf.sum(tf.mul(tf.matMul(parts[0], parts[1], true, false), tf.sum(h, [0, 1]).slice([0], [2]))) as tf.Scalar
    }
    const { stock, native } = bothWays(() => tf.grads(f)([w1, w2, bias, x]))
    expect(relErr(native, stock)).toBeLessThan(1e-5)
  })

  it("inputs the overrides do not handle go to the stock kernels (int32 transpose, prelu)", () => {
    const { stock, native } = bothWays(() => [
      tf.cast(tf.transpose(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], "int32")), "float32"),
      tf.fused.matMul({ a: rand([3, 4]), b: rand([4, 2]), activation: "prelu", preluActivationWeights: tf.scalar(0.1) })
    ])
    expect(relErr(native, stock)).toBeLessThan(1e-5)
  })
})

describe("install and fallback", () => {
  it("the addon-free path installs only the JS kernels and runs", () => {
    const report = installWasmKernels({ native: false })
    expect(report.native).toBe(false)
    expect(report.reason).toMatch(/off/)
    expect(installedKernels()).toEqual(["Cast", "GatherV2", "Identity", "Sum"])
    const y = tf.tidy(() => tf.sum(tf.matMul(tf.ones([3, 4]), tf.ones([2, 4]), false, true), 0).arraySync())
    expect(y).toEqual([12, 12])
  })

  it("with the addon, reports the BLAS and the kernels it replaced", () => {
    const report = installWasmKernels()
    if (!status.ok) {
      expect(report.native).toBe(false)
      expect(report.reason).toContain(status.reason)
      return
    }
    expect(report.native).toBe(true)
    expect(report.reason).toContain(status.blas)
    expect(report.kernels).toEqual(expect.arrayContaining(["BatchMatMul", "_FusedMatMul", "Transpose", "Slice", "Unpack", "Sum", "Tanh", "Exp", "CsGelu", "CsLayerNorm"]))
    uninstallWasmKernels()
    expect(installedKernels()).toEqual([])
  })
})

native("fused GELU and LayerNorm kernels agree with the same functions written as tfjs ops", () => {
  const geluOps = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))))
  const lnOps = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true)
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), w), b)
  }

  it("GELU forward and gradient", () => {
    const x = tf.mul(rand([37, 19]), 3)
    const dy = rand([37, 19])
    const ref = bothWays(() => [geluOps(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(geluOps(t), dy)))(x)]).stock
    const got = nativeOnly(() => [fusedGelu(x), fusedGeluGrad(x, dy)])
    expect(relErr(got, ref)).toBeLessThan(1e-5)
  })

  it("rotary embedding: x cos + cat(-x2, x1) sin, with cos and sin that differ between the halves", () => {
    const x = rand([11, 3, 8])
    const cos = rand([11, 1, 8])
    const sin = rand([11, 1, 8])
    const ropeOps = () => {
      const [x1, x2] = tf.split(x, 2, 2)
      return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(x2), x1], 2), sin))
    }
    const ref = bothWays(ropeOps).stock
    const got = nativeOnly(() => fusedRope(x, cos, sin))
    expect(relErr(got, ref)).toBeLessThan(1e-6)
    expect(() => fusedRope(rand([4, 2, 5]), rand([4, 1, 5]), rand([4, 1, 5]))).toThrow(/even dim/)
  })

  it("LayerNorm forward and gradients (x, w, b)", () => {
    const x = tf.add(tf.mul(rand([23, 48]), 2), 0.5)
    const w = rand([48])
    const b = rand([48])
    const dy = rand([23, 48])
    const loss = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(lnOps(a, c, d), dy))
    const ref = bothWays(() => [lnOps(x, w, b), ...tf.grads(loss)([x, w, b])]).stock
    const got = nativeOnly(() => {
      const [y, xhat, rstd] = fusedLayerNorm(x, w, b, 1e-5)
      return [y, ...fusedLayerNormGrad(dy, xhat, rstd, w)]
    })
    expect(relErr(got, ref)).toBeLessThan(1e-5)
  })
})
