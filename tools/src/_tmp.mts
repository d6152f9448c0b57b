import { CausalLM, initBackend } from "@conceptscope/model-runners"
import * as tf from "@tensorflow/tfjs"
await initBackend()
const dir = "/tmp/conceptscope-bench-llama3-100m"
const mem = CausalLM.load(dir, { mode: "memory" })
const pre = CausalLM.load(dir, { mode: "streamed" })
const nopre = CausalLM.load(dir, { mode: "streamed" }) as any
nopre.prefetch.take = () => null; nopre.prefetch.request = () => {}
const models: Record<string, CausalLM> = { mem, pre, nopre }
let s = 1
const ids = Array.from({ length: 4 }, () => Array.from({ length: 128 }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) % 32000))
const t: Record<string, number[]> = { mem: [], pre: [], nopre: [] }
const keys = Object.keys(models)
for (let i = 0; i < 31; i++) for (let j = 0; j < 3; j++) {
  const k = keys[(i + j) % 3]
  const t0 = performance.now()
  const { logits } = models[k].forward({ ids }); (logits as tf.Tensor).dispose()
  if (i > 0) t[k].push(performance.now() - t0)
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
for (const k of keys) console.log(k, med(t[k]).toFixed(0), "ms median", (med(t.mem) / med(t[k])).toFixed(3))
