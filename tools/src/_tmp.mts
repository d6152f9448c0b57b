import { initBackend, TrainableLlama, llamaConfigJson } from "@conceptscope/model-runners"
import { Adam } from "@conceptscope/finetuners"
await initBackend()
const config = llamaConfigJson({ nLayers: 6, dModel: 128, nHeads: 4, nKvHeads: 2, intermediate: 256, maxPositions: 256, ropeTheta: 1e4 }, 2200, { bos: 1, eos: 2, pad: 0 })
const model = TrainableLlama.init(config, 0)
const shapes = new Map([...model.params].map(([n, v]) => [n, v.shape]))
const adam = new Adam({ lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 }, shapes)
const params = new Map([...model.params].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]))
const grads = new Map([...params].map(([n, p]) => [n, p.map(() => Math.random() - 0.5)]))
for (let i = 0; i < 3; i++) { const t0 = performance.now(); Adam.gradNorm(grads); adam.step(params, grads, 1); console.log("adam", (performance.now() - t0).toFixed(1), "ms") }
console.log("params", [...params.values()].reduce((a, p) => a + p.length, 0))
