import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { Rng } from "@conceptscope/core"
import { gelu, initBackend, layerNorm, linear } from "../src/index.js"

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let mx = 0
  for (let i = 0; i < a.length; i++) mx = Math.max(mx, Math.abs(a[i] - b[i]))
  return mx
}

// plain formulas differentiated by tfjs autograd (the references)
const lnRef = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
  const { mean, variance } = tf.moments(x, -1, true)
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), w), b)
}
const geluRef = (x: tf.Tensor) =>
  tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI)))))

beforeAll(async () => {
  process.env.CONCEPTSCOPE_QUIET = "1"
  await initBackend("wasm")
})

describe("layers with hand-written gradients", () => {
  it("layerNorm: value and gradients (x, w, b) equal autograd of the plain formula", () => {
    const rng = new Rng(1)
    const x = tf.tensor2d(rng.normals(7 * 12, 2), [7, 12])
    const w = tf.tensor1d(rng.normals(12).map((v) => 1 + 0.3 * v))
    const b = tf.tensor1d(rng.normals(12))
    const r = tf.tensor2d(rng.normals(7 * 12), [7, 12])
    expect(maxAbsDiff(layerNorm(x, w, b).dataSync(), lnRef(x, w, b).dataSync())).toBeLessThan(1e-5)
    const loss = (f: typeof lnRef) => (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(f(a, c, d), r))
    const g1 = tf.grads(loss(layerNorm))([x, w, b])
    const g2 = tf.grads(loss(lnRef))([x, w, b])
    for (let i = 0; i < 3; i++) expect(maxAbsDiff(g1[i].dataSync(), g2[i].dataSync())).toBeLessThan(1e-4)
  })

  it("gelu: equals the tanh form, gradient equals its autograd", () => {
    const x = tf.linspace(-6, 6, 241)
    expect(maxAbsDiff(gelu(x).dataSync(), geluRef(x).dataSync())).toBeLessThan(1e-5)
    const g1 = tf.grad((a: tf.Tensor) => tf.sum(gelu(a)))(x)
    const g2 = tf.grad((a: tf.Tensor) => tf.sum(geluRef(a)))(x)
    expect(maxAbsDiff(g1.dataSync(), g2.dataSync())).toBeLessThan(1e-5)
  })
})

describe("linear with a hand-written gradient", () => {
  it("value and gradients equal autograd of matMul + add", () => {
    const rng = new Rng(4)
    const x = tf.tensor2d(rng.normals(9 * 5), [9, 5])
    const w = tf.tensor2d(rng.normals(5 * 3), [5, 3])
    const b = tf.tensor1d(rng.normals(3))
    const r = tf.tensor2d(rng.normals(9 * 3), [9, 3])
    const ref = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.add(tf.matMul(a, c), d)
    expect(maxAbsDiff(linear(x, w, b).dataSync(), ref(x, w, b).dataSync())).toBeLessThan(1e-5)
    const loss = (f: typeof ref) => (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(f(a, c, d), r))
    const g1 = tf.grads(loss(linear))([x, w, b])
    const g2 = tf.grads(loss(ref))([x, w, b])
    for (let i = 0; i < 3; i++) expect(maxAbsDiff(g1[i].dataSync(), g2[i].dataSync())).toBeLessThan(1e-5)
    expect(() => linear(tf.zeros([2, 3, 5]), w, b)).toThrow(/expected x/)
  })
})
