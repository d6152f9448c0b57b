import { Rng } from "@conceptscope/core"
const r = new Rng(1).fork("x")
let t = performance.now()
const n = 3_000_000
const a = Float32Array.from({ length: n }, () => (r.uniform() < 0.1 ? 0 : 1 / 0.9))
console.log("Float32Array.from uniform", (performance.now() - t).toFixed(0), "ms for", n, a[5])
t = performance.now()
const b = new Float32Array(n)
for (let i = 0; i < n; i++) b[i] = r.uniform() < 0.1 ? 0 : 1 / 0.9
console.log("loop uniform", (performance.now() - t).toFixed(0), "ms")
