import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import { Rng } from "@conceptscope/core"
import { pca2 } from "./src/index"
await tf.setBackend("wasm"); await tf.ready()
const rng = new Rng(0); const n = 700, d = 4096
const c = rng.normals(7 * d, 0.3); const labels = new Int32Array(n).map((_, i) => i % 7)
const X = rng.normals(n * d).map((v, t) => v + c[labels[Math.floor(t / d)] * d + (t % d)])
const N = rng.normals(n * d)
for (const [name, data] of [["clustered", X], ["pure noise", N]] as const) {
  const t = performance.now(); const r = pca2(data, d)
  console.log(name, Math.round(performance.now() - t), "ms", r.iterations, r.converged, r.explained)
}
