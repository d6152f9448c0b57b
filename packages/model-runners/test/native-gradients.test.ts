import * as tf from "@tensorflow/tfjs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Rng } from "@conceptscope/core"
import { installWasmKernels, loadNative } from "@conceptscope/kernels"
import { RegressionTransformer, initBackend } from "../src/index.js"

// The whole training step's gradient, through every native kernel at once (fused attention with causal
// key skipping, LayerNorm, GELU, bias-prefilled GEMMs), against the stock wasm kernels: the unit tests
// check each kernel alone, this checks that the model wires them together into the same math.
const native = describe.runIf(loadNative().ok && process.env.CONCEPTSCOPE_NATIVE !== "0")

beforeAll(async () => {
  process.env.CONCEPTSCOPE_QUIET = "1"
  await initBackend("wasm")
})
afterAll(() => {
  installWasmKernels()
})

native("a regression-transformer training step, native kernels against stock wasm", () => {
  it("same loss, every parameter's gradient within 1e-5 relative (quick preset's shapes)", () => {
    const cfg = { nLayers: 2, dModel: 64, nHeads: 4, xDim: 8, maxExamples: 6, tokenFormat: "y-scalar", seed: 3 }
    const model = RegressionTransformer.create(cfg)
    const B = 64
    const rng = new Rng(5)
    const xs = rng.normals(B * cfg.maxExamples * cfg.xDim)
    const ys = rng.normals(B * cfg.maxExamples)
    const step = () =>
      tf.tidy(() => {
        const xt = tf.tensor3d(xs, [B, cfg.maxExamples, cfg.xDim]) // [B, K, D]
        const yt = tf.tensor2d(ys, [B, cfg.maxExamples]) // [B, K]
        const vars = Object.values(tf.engine().registeredVariables) as tf.Variable[]
        const r = tf.variableGrads(() => {
          const d = tf.sub(model.forward(xt, yt, { training: true }).preds, yt)
          return tf.mean(tf.mul(d, d)) as tf.Scalar
        }, vars)
        return { loss: r.value.dataSync()[0], grads: Object.entries(r.grads).map(([k, g]) => [k, g.dataSync() as Float32Array] as const) }
      })
    expect(installWasmKernels().native).toBe(true)
    const a = step()
    installWasmKernels({ native: false })
    const b = step()
    expect(a.loss).toBeCloseTo(b.loss, 5)
    let checked = 0
    for (let i = 0; i < a.grads.length; i++) {
      const [name, ga] = a.grads[i]
      const gb = b.grads[i][1]
      let scale = 0
      let err = 0
      for (let j = 0; j < ga.length; j++) {
        scale = Math.max(scale, Math.abs(gb[j]))
        err = Math.max(err, Math.abs(ga[j] - gb[j]))
      }
      if (scale < 1e-9) continue // mathematically zero (the key bias: softmax is shift-invariant); both sides give ~1e-12 noise
      expect(err / scale, name).toBeLessThan(1e-5)
      checked++
    }
    expect(checked).toBeGreaterThan(20)
    model.dispose()
  })
})
