import * as tf from "@tensorflow/tfjs"
import { RegressionTrainer, defaultAdam } from "./src/index"
import { RegressionTransformer, initBackend, studyModelConfig } from "@conceptscope/model-runners"
import { Rng } from "@conceptscope/core"
process.env.CONCEPTSCOPE_QUIET = "1"
await initBackend("wasm")
const big = new Map<string, { n: number; ms: number; bytes: number }>()
for (const k of tf.getKernelsForBackend("wasm")) {
  const orig = k.kernelFunc
  tf.unregisterKernel(k.kernelName, "wasm")
  tf.registerKernel({ ...k, kernelFunc: (args: any) => { const t = performance.now(); const r = orig(args); const dt = performance.now() - t; const outs = Array.isArray(r) ? r : [r]; let bytes = 0; for (const o of outs) bytes += o.shape.reduce((a: number, b: number) => a * b, 1) * 4; const key = k.kernelName + " " + JSON.stringify(Object.values(args.inputs).map((x: any) => x.shape)) + "->" + JSON.stringify(outs.map((o: any) => o.shape)); const s = big.get(key) ?? { n: 0, ms: 0, bytes: 0 }; s.n++; s.ms += dt; s.bytes += bytes; big.set(key, s); return r } })
}
const cfg = { ...studyModelConfig, nLayers: 1 }
const B = 8
const m = RegressionTransformer.create(cfg)
const tr = new RegressionTrainer(m, { adam: defaultAdam })
const K = cfg.maxExamples
const rng = new Rng(1); const xs = rng.normals(B * K * cfg.xDim); const ys = rng.normals(B * K)
tr.update(xs, ys, B, K)
const rows = [...big].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)
for (const [k, s] of rows) console.log(k.slice(0, 110).padEnd(110), s.n, s.ms.toFixed(1), (s.bytes / 1e6).toFixed(1) + "MB")
