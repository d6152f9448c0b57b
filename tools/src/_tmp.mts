import { profileKernels } from "@conceptscope/kernels"
import { initBackend } from "@conceptscope/model-runners"
import { benchLmStep } from "./bench/lm-step.js"
await initBackend()
let t0 = performance.now()
const r0 = benchLmStep({ steps: 3, warmup: 1 })
console.log("ms/step", r0.msPerStep.toFixed(0))
const prof = await profileKernels(() => { benchLmStep({ steps: 2, warmup: 0 }) })
console.log("kernel total", prof.totalMs.toFixed(0))
for (const k of prof.kernels.slice(0, 18)) console.log(String((k as any).kernel ?? (k as any).key).padEnd(28), String(k.calls).padStart(5), k.ms.toFixed(0))
