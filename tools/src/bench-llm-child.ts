/**
 * One measurement of `npm run bench:torch`'s LLM rows, in its own process so RSS is its own:
 *   tsx tools/src/bench-llm-child.ts --model <dir> --mode memory|streamed|interleaved --batch B --seq T --reps R
 * prints one JSON line: load seconds and peak RSS after loading, forward tokens/s, peak RSS overall.
 * "interleaved" loads the model both ways and alternates their forwards (R pairs, the order swapped each
 * pair), so both see the same machine state; it prints the median of the per-pair streamed / in-memory
 * tokens/s ratios.
 */
import { CausalLM, HfCheckpoint, initBackend } from "@conceptscope/model-runners"
import * as tf from "@tensorflow/tfjs"

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const rssMb = () => process.resourceUsage().maxRSS / 1024

const randomIds = (B: number, T: number, V: number) => {
  let s = 12345
  return Array.from({ length: B }, () => Array.from({ length: T }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) % V))
}

const timeForward = (model: CausalLM, ids: number[][]): number => {
  const t0 = performance.now()
  const { logits } = model.forward({ ids }) // logits at every position, as the PyTorch side computes
  ;(logits as tf.Tensor).dispose()
  return performance.now() - t0
}

function interleaved(dir: string, B: number, T: number, reps: number) {
  const memory = CausalLM.load(dir, { mode: "memory" })
  const streamed = CausalLM.load(dir, { mode: "streamed" })
  const ids = randomIds(B, T, memory.arch.dims.vocab)
  timeForward(memory, ids) // warm-up
  timeForward(streamed, ids)
  const ratios: number[] = []
  const ms = { memory: [] as number[], streamed: [] as number[] }
  for (let i = 0; i < reps; i++) {
    const order = i % 2 === 0 ? (["memory", "streamed"] as const) : (["streamed", "memory"] as const)
    const got: Record<string, number> = {}
    for (const m of order) got[m] = timeForward(m === "memory" ? memory : streamed, ids)
    ms.memory.push(got.memory)
    ms.streamed.push(got.streamed)
    ratios.push(got.memory / got.streamed) // tokens/s ratio streamed / memory
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  memory.dispose()
  streamed.dispose()
  console.log(JSON.stringify({ mode: "interleaved", pairs: reps, streamed_over_memory: median(ratios), memory_tokens_per_s: (B * T * 1000) / median(ms.memory), streamed_tokens_per_s: (B * T * 1000) / median(ms.streamed) }))
}

const main = async () => {
  await initBackend()
  const dir = arg("model", "")
  const mode = arg("mode", "memory") as "memory" | "streamed" | "interleaved"
  const [B, T, reps] = [Number(arg("batch", "4")), Number(arg("seq", "128")), Number(arg("reps", "3"))]
  if (mode === "interleaved") return interleaved(dir, B, T, reps)
  const baseline = rssMb()
  let t0 = performance.now()
  const model = CausalLM.load(dir, { mode })
  const loadS = (performance.now() - t0) / 1000
  const loadRss = rssMb()
  const ids = randomIds(B, T, model.arch.dims.vocab)
  const run = () => timeForward(model, ids)
  run() // warm-up
  t0 = performance.now()
  for (let i = 0; i < reps; i++) run()
  const dt = (performance.now() - t0) / 1000 / reps
  const ck = HfCheckpoint.open(dir)
  const weightsMb = ck.float32Bytes() / 2 ** 20
  ck.close()
  model.dispose()
  console.log(JSON.stringify({ mode: model.mode, load_s: loadS, baseline_rss_mb: baseline, load_peak_rss_mb: loadRss, tokens_per_s: (B * T) / dt, ms_per_forward: dt * 1000, peak_rss_mb: rssMb(), weights_f32_mb: weightsMb }))
}

main().catch((e) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
