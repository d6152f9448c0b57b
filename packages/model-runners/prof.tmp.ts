import * as tf from "@tensorflow/tfjs"
import { initBackend, RegressionTransformer, quickModelConfig, studyModelConfig } from "./src/index"
await initBackend("wasm")
const stats = new Map<string, { n: number; ms: number }>()
for (const k of tf.getKernelsForBackend("wasm")) {
  const orig = k.kernelFunc
  tf.unregisterKernel(k.kernelName, "wasm")
  tf.registerKernel({ ...k, kernelFunc: (args: any) => { const c0 = process.cpuUsage(); const r = orig(args); const c1 = process.cpuUsage(c0); const key = (k.kernelName === "BatchMatMul" || k.kernelName === "Identity" || k.kernelName==="Sum"|| k.kernelName==="Transpose") ? k.kernelName + " " + JSON.stringify(Object.values(args.inputs).map((x: any) => x.shape)) + JSON.stringify(args.attrs) : k.kernelName; const s = stats.get(key) ?? { n: 0, ms: 0 }; s.n++; s.ms += (c1.user + c1.system) / 1000; stats.set(key, s); return r } })
}
const cfg = process.argv[2] === "study" ? studyModelConfig : quickModelConfig
const B = Number(process.argv[3] ?? 64)
const m = RegressionTransformer.create(cfg)
const K = cfg.maxExamples, D = cfg.xDim
const xs = tf.randomNormal([B, K, D]); const ys = tf.randomNormal([B, K])
const vars = [...m.parameters().values()]
const step = () => { const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(m.forward(xs, ys).preds, ys))) as tf.Scalar, vars); const l = value.dataSync()[0]; for (const g of Object.values(grads)) g.dataSync(); tf.dispose(grads); value.dispose(); return l }
step(); stats.clear()
const n = Number(process.argv[4] ?? 3)
const t0 = process.cpuUsage(); for (let i = 0; i < n; i++) step(); const cc = process.cpuUsage(t0); const tot = (cc.user + cc.system) / 1000 / n
let ktot = 0, kn = 0
const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms)
for (const [k, s] of rows) { ktot += s.ms / n; kn += s.n / n }
console.log("cpu ms/step", tot.toFixed(1), "kernel ms", ktot.toFixed(1), "kernels/step", kn)
for (const [k, s] of rows.slice(0, 40)) console.log(k.padEnd(20), (s.ms / n).toFixed(1).padStart(8), String(s.n / n).padStart(6))
