import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import { Rng } from "@conceptscope/core"
import { benchTD, pairwiseTD, taskDecodability, linearProbe, pca2, umap2 } from "./src/index"
await tf.setBackend("wasm"); await tf.ready()
const rng = new Rng(0); const n = 700, d = 4096
const c = rng.normals(7 * d, 0.05); const labels = new Int32Array(n).map((_, i) => i % 7)
const X = rng.normals(n * d).map((v, t) => v + c[labels[Math.floor(t / d)] * d + (t % d)])
const T = (name: string, f: () => any) => { const t = performance.now(); const r = f(); console.log(name, Math.round(performance.now() - t), "ms", typeof r === "object" && "td" in r ? r.td : "") }
T("td", () => taskDecodability(X, labels, 7))
T("td", () => taskDecodability(X, labels, 7))
T("td cosine", () => taskDecodability(X, labels, 7, { metric: "cosine" }))
T("pairwise", () => pairwiseTD(X, labels, 7))
T("probe", () => linearProbe(X, labels, 7, { seed: 0 }))
T("pca2", () => pca2(X, d))
const small = X.slice(0, 400 * 256)
T("umap2 400x256", () => umap2(small, 256, { seed: 0 }))
const r: number[] = []
for (let i = 0; i < 5; i++) r.push(Math.round(benchTD()))
console.log("benchTD ms", r.join(" "))
