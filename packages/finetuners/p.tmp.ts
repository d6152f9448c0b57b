import { RegressionTrainer, defaultAdam } from "./src/index"
import { RegressionTransformer, initBackend, quickModelConfig } from "@conceptscope/model-runners"
import { Rng } from "@conceptscope/core"
process.env.CONCEPTSCOPE_QUIET = "1"
await initBackend("wasm")
const m = RegressionTransformer.create(quickModelConfig)
const tr = new RegressionTrainer(m, { adam: defaultAdam })
const B = 64, K = 10
const rng = new Rng(1); const xs = rng.normals(B * K * 8); const ys = rng.normals(B * K)
for (let i = 0; i < 3; i++) tr.update(xs, ys, B, K)
const times: number[] = []
for (let i = 0; i < 15; i++) { const t = performance.now(); tr.update(xs, ys, B, K); times.push(performance.now() - t) }
times.sort((a, b) => a - b); console.log("min", times[0].toFixed(1), "median", times[7].toFixed(1))
