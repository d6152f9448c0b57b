import * as tf from "@tensorflow/tfjs"
import { RegressionTrainer, defaultAdam } from "./src/index"
import { RegressionTransformer, initBackend, quickModelConfig, studyModelConfig } from "@conceptscope/model-runners"
import { Rng } from "@conceptscope/core"
process.env.CONCEPTSCOPE_QUIET = "1"
await initBackend("wasm")
const stats = new Map<string, { n: number; ms: number }>()
const detail = process.argv[5] === "detail"
for (const k of tf.getKernelsForBackend("wasm")) {
  const orig = k.kernelFunc
  tf.unregisterKernel(k.kernelName, "wasm")
  tf.registerKernel({ ...k, kernelFunc: (args: any) => { const t = performance.now(); const r = orig(args); const key = detail ? k.kernelName + " " + JSON.stringify(Object.values(args.inputs).map((x: any) => x.shape)) : k.kernelName; const s = stats.get(key) ?? { n: 0, ms: 0 }; s.n++; s.ms += performance.now() - t; stats.set(key, s); return r } })
}
const cfg = process.argv[2] === "study" ? studyModelConfig : quickModelConfig
const B = Number(process.argv[3] ?? 64)
const m = RegressionTransformer.create(cfg)
const tr = new RegressionTrainer(m, { adam: defaultAdam })
const K = cfg.maxExamples
const rng = new Rng(1); const xs = rng.normals(B * K * cfg.xDim); const ys = rng.normals(B * K)
tr.update(xs, ys, B, K); stats.clear()
const n = Number(process.argv[4] ?? 5)
const ts: number[] = []
for (let i = 0; i < n; i++) { const t = performance.now(); tr.update(xs, ys, B, K); ts.push(performance.now() - t) }
ts.sort((a, b) => a - b)
let ktot = 0, kn = 0
const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms)
for (const [, s] of rows) { ktot += s.ms / n; kn += s.n / n }
console.log("step min", ts[0].toFixed(1), "median", ts[n >> 1].toFixed(1), "kernel ms", ktot.toFixed(1), "kernels/step", kn)
for (const [k, s] of rows.slice(0, 25)) console.log(k.slice(0, 70).padEnd(70), (s.ms / n).toFixed(1).padStart(8), String(s.n / n).padStart(6))
