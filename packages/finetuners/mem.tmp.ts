import * as tf from "@tensorflow/tfjs"
import { RegressionTrainer, defaultAdam } from "./src/index"
import { RegressionTransformer, initBackend, studyModelConfig, quickModelConfig } from "@conceptscope/model-runners"
import { Rng } from "@conceptscope/core"
process.env.CONCEPTSCOPE_QUIET = "1"
await initBackend("wasm")
let peak = 0
const byKernel = new Map<string, number>()
for (const k of tf.getKernelsForBackend("wasm")) {
  const orig = k.kernelFunc
  tf.unregisterKernel(k.kernelName, "wasm")
  tf.registerKernel({ ...k, kernelFunc: (args: any) => { const r = orig(args); const b = tf.memory().numBytes; if (b > peak) peak = b; return r } })
}
const cfg = process.argv[2] === "quick" ? quickModelConfig : studyModelConfig
const B = Number(process.argv[3] ?? 16)
const m = RegressionTransformer.create(cfg)
const tr = new RegressionTrainer(m, { adam: defaultAdam })
const K = cfg.maxExamples
const rng = new Rng(1); const xs = rng.normals(B * K * cfg.xDim); const ys = rng.normals(B * K)
const base = tf.memory().numBytes
const t = performance.now()
tr.update(xs, ys, B, K)
console.log("B", B, "step ms", (performance.now() - t).toFixed(0), "base MB", (base / 1e6).toFixed(1), "peak MB", (peak / 1e6).toFixed(1), "per sample MB", ((peak - base) / B / 1e6).toFixed(2), "rss MB", (process.memoryUsage().rss / 1e6).toFixed(0))
