import * as tf from "@tensorflow/tfjs"
import { RegressionTransformer, initBackend, studyModelConfig } from "@conceptscope/model-runners"
import { Rng } from "@conceptscope/core"
process.env.CONCEPTSCOPE_QUIET = "1"
await initBackend("wasm")
const L = Number(process.argv[2] ?? 1)
const cfg = { ...studyModelConfig, nLayers: L }
const B = 8
const m = RegressionTransformer.create(cfg)
const K = cfg.maxExamples
const rng = new Rng(1)
const xs = tf.tensor3d(rng.normals(B * K * cfg.xDim), [B, K, cfg.xDim]); const ys = tf.tensor2d(rng.normals(B * K), [B, K])
const base = tf.memory().numBytes
let atEndOfForward = 0, tensorsFwd = 0
const vars = [...m.parameters().values()]
let peak = 0
for (const k of tf.getKernelsForBackend("wasm")) {
  const orig = k.kernelFunc
  tf.unregisterKernel(k.kernelName, "wasm")
  tf.registerKernel({ ...k, kernelFunc: (args: any) => { const r = orig(args); const b = tf.memory().numBytes; if (b > peak) peak = b; return r } })
}
const { value, grads } = tf.variableGrads(() => {
  const l = tf.mean(tf.square(tf.sub(m.forward(xs, ys).preds, ys))) as tf.Scalar
  atEndOfForward = tf.memory().numBytes; tensorsFwd = tf.memory().numTensors
  return l
}, vars)
console.log("L", L, "fwd MB", ((atEndOfForward - base) / 1e6).toFixed(1), "tensors", tensorsFwd, "after grads MB", ((tf.memory().numBytes - base) / 1e6).toFixed(1), "peak MB", ((peak - base) / 1e6).toFixed(1), "param MB", (base / 1e6).toFixed(1))
