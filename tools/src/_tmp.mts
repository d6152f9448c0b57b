import * as tf from "@tensorflow/tfjs"
import { initBackend, TrainableLlama, llamaConfigJson } from "@conceptscope/model-runners"
import { LmTrainer } from "@conceptscope/finetuners"
await initBackend("auto")
const V = Number(process.argv[2] ?? 2200), B = 8, T = 256
const cfg = llamaConfigJson({ nLayers: 6, dModel: 128, nHeads: 4, nKvHeads: 2, intermediate: 256, maxPositions: 256, ropeTheta: 10000 }, V, { bos: 1, eos: 2, pad: 0 })
const m = TrainableLlama.init(cfg, 1)
const tr = new LmTrainer(m, { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 }, 1)
const ids = new Int32Array(B * T).map((_, i) => 4 + (i * 7919) % (V - 4)), targets = ids.map((x, i) => (i % T === T - 1 ? -1 : ids[i + 1]))
const batch = { ids, targets, B, T }
for (let i = 0; i < 2; i++) tr.update(batch)
let t0 = performance.now(); for (let i = 0; i < 3; i++) tf.tidy(() => m.loss(ids, targets, B, T).dataSync()); const fwd = (performance.now() - t0) / 3
t0 = performance.now(); for (let i = 0; i < 3; i++) tr.update(batch); const step = (performance.now() - t0) / 3
console.log(`V ${V}: forward+loss ${fwd.toFixed(0)} ms, update ${step.toFixed(0)} ms, ${(B * T / step * 1000).toFixed(0)} tokens/s`)
const prof = await tf.profile(() => { tr.update(batch) })
const by = new Map<string, number>()
for (const k of prof.kernels) by.set(k.name, (by.get(k.name) ?? 0) + (k.kernelTimeMs as number))
console.log([...by].sort((a, b) => b[1] - a[1]).slice(0, 18).map(([n, t]) => `${n} ${t.toFixed(0)}`).join(", "))
const by2 = new Map<string, number>()
for (const k of prof.kernels) { const key = `${k.name}[${(k.inputShapes as number[][]).map((s) => s?.join("x")).join(",")}]`; by2.set(key, (by2.get(key) ?? 0) + (k.kernelTimeMs as number)) }
console.log([...by2].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([n, t]) => `${n} ${t.toFixed(1)}`).join("\n"))
