import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { fusedCrossEntropy, fusedCrossEntropyGrad, fusedGatedAct, fusedGatedActGrad, fusedRmsNorm, fusedRmsNormGrad, installWasmKernels, loadNative } from "../src/index.js"
import { bothWays, nativeOnly, rand, relErr, useWasm } from "./helpers.js"

const status = loadNative()
const native = describe.runIf(status.ok)

beforeAll(useWasm)

native("fused HF decoder kernels agree with the same functions written as tfjs ops", () => {
  const rmsOps = (x: tf.Tensor, w: tf.Tensor, eps: number, onePlus: boolean) => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.mul(x, x), -1, true), eps))), onePlus ? tf.add(w, 1) : w)
  const geluTanh = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))))

  it("RMSNorm, with w and with 1 + w (Gemma), over rows of rank-2 and rank-3 inputs", () => {
    for (const [shape, onePlus] of [[[29, 48], false], [[3, 5, 17], true]] as const) {
      const x = tf.mul(rand([...shape]), 3)
      const w = rand([shape[shape.length - 1]])
      const ref = bothWays(() => rmsOps(x, w, 1e-6, onePlus)).stock
      const got = nativeOnly(() => fusedRmsNorm(x, w, 1e-6, onePlus))
      expect(relErr(got, ref)).toBeLessThan(1e-6)
    }
    expect(() => fusedRmsNorm(rand([4, 6]), rand([5]), 1e-6)).toThrow(/w \[d\]/)
  })

  it("gated activation act(g) * u for SiLU and tanh GELU, including large |g| (no overflow)", () => {
    const g = tf.concat([tf.mul(rand([1000]), 4), tf.tensor1d([-200, -90, -30, 0, 30, 90, 200])])
    const u = rand([1007])
    for (const [act, ops] of [["silu", (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x))], ["gelu_tanh", geluTanh]] as const) {
      const ref = bothWays(() => tf.mul(ops(g), u)).stock
      const got = nativeOnly(() => fusedGatedAct(g, u, act))
      expect(got[0].every(Number.isFinite)).toBe(true)
      expect(relErr(got, ref)).toBeLessThan(1e-6)
    }
    expect(() => fusedGatedAct(rand([3, 4]), rand([4, 3]), "silu")).toThrow(/one shape/)
  })

  // the gradients against tfjs's autodiff of the same functions as ops, run on the stock kernels
  it("RMSNorm's gradient (dx, dw), with w and with 1 + w, over 130 rows (dw summed over blocks of 64)", () => {
    for (const onePlus of [false, true]) {
      const x = tf.mul(rand([130, 48]), 3)
      const w = rand([48])
      const dy = rand([130, 48])
      const ref = bothWays(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mul(rmsOps(a, b, 1e-5, onePlus), dy))([x, w])).stock
      const got = nativeOnly(() => fusedRmsNormGrad(dy, x, w, 1e-5, onePlus))
      expect(relErr(got, ref)).toBeLessThan(1e-5)
    }
  })

  it("cross-entropy and its gradient against log-softmax and its autodiff, with unscored rows and large logits", () => {
    const x = tf.concat([tf.mul(rand([9, 37]), 5), tf.tensor2d([[80, -80, ...Array(35).fill(0)]])]) // [10, 37]
    const targets = Int32Array.from([3, -1, 0, 36, 5, -1, 7, 7, 1, 0])
    const onehot = tf.tensor2d(Array.from(targets).flatMap((t) => Array.from({ length: 37 }, (_, v) => (v === t ? 1 : 0))), [10, 37])
    const lossOps = (z: tf.Tensor) => tf.neg(tf.sum(tf.mul(tf.logSoftmax(z), onehot)))
    const [refLoss, refGrad] = bothWays(() => [lossOps(x), tf.grad(lossOps)(x)]).stock
    const [sum, lse] = nativeOnly(() => fusedCrossEntropy(x, targets))
    expect(Math.abs(sum[0] - refLoss[0]) / refLoss[0]).toBeLessThan(1e-5)
    expect(lse).toHaveLength(10)
    const got = nativeOnly(() => {
      const [, l] = fusedCrossEntropy(x, targets)
      return fusedCrossEntropyGrad(x, l, targets, 1)
    })
    expect(relErr(got, [refGrad])).toBeLessThan(1e-5)
    expect(() => fusedCrossEntropy(x, Int32Array.from([0, 1]))).toThrow(/10 targets/)
    expect(() => fusedCrossEntropy(x, targets.map((t) => (t === 36 ? 37 : t)))).toThrow(/outside the vocabulary/)
  })

  it("the gated activation's gradient (dg, du) for SiLU and tanh GELU, including large |g|", () => {
    const g = tf.concat([tf.mul(rand([1000]), 4), tf.tensor1d([-200, -90, -30, 0, 30, 90, 200])])
    const u = rand([1007])
    const dy = rand([1007])
    for (const [act, ops] of [["silu", (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x))], ["gelu_tanh", geluTanh]] as const) {
      const ref = bothWays(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.mul(tf.mul(ops(a), b), dy))([g, u])).stock
      const got = nativeOnly(() => fusedGatedActGrad(dy, g, u, act))
      expect(got.every((t) => t.every(Number.isFinite))).toBe(true)
      expect(relErr(got, ref)).toBeLessThan(1e-5)
    }
  })
})

describe("GatherV2 as block copies (pure JS, also without the addon)", () => {
  const cases: [string, () => tf.Tensor][] = [
    ["embedding rows, axis 0", () => tf.gather(rand([50, 24]), tf.tensor1d([3, 0, 49, 3, 17], "int32"))],
    ["2D indices", () => tf.gather(rand([10, 20]), tf.tensor2d([1, 2, 9, 0, 5, 5], [2, 3], "int32"))],
    ["axis 1 of rank 3 (outer and inner blocks)", () => tf.gather(rand([3, 7, 18]), tf.tensor1d([6, 1, 1], "int32"), 1)],
    ["inner blocks shorter than 16 (element loop)", () => tf.gather(rand([4, 9, 3]), tf.tensor1d([8, 0], "int32"), 1)],
    ["last axis (inner 1)", () => tf.gather(rand([5, 6]), tf.tensor1d([5, 4, 0], "int32"), -1)],
    ["int32 values with NaN-like bit patterns", () => tf.cast(tf.gather(tf.tensor2d([-1, -2147483648, 2147483647, 7, -4194304, 0], [3, 2], "int32"), tf.tensor1d([2, 0, 1], "int32")), "float32")],
    ["no indices", () => tf.gather(rand([5, 6]), tf.tensor1d([], "int32"))]
  ]
  for (const [name, f] of cases)
    it(name, () => {
      const { stock, native } = bothWays(f)
      expect(native).toEqual(stock)
    })

  it("an int32 gather keeps every bit of its values", () => {
    installWasmKernels({ native: false })
    const vals = [-1, -2147483648, 2147483647, -4194304]
    const got = tf.tidy(() => tf.gather(tf.tensor2d([...vals, ...vals], [2, 4], "int32"), tf.tensor1d([1, 0], "int32")).dataSync())
    expect(Array.from(got)).toEqual([...vals, ...vals])
  })

  it("an index out of range throws the stock kernel's error", () => {
    installWasmKernels({ native: false })
    expect(() => tf.tidy(() => tf.gather(rand([4, 3]), tf.tensor1d([1, 4], "int32")))).toThrow(/GatherV2: the index value 4 is not in \[0, 3\]/)
  })
})
