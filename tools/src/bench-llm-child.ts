/**
 * One measurement of `npm run bench:torch`'s LLM rows, in its own process so RSS is its own:
 *   tsx tools/src/bench-llm-child.ts --model <dir> --mode memory|streamed --batch B --seq T --reps R
 * prints one JSON line: load seconds and peak RSS after loading, forward tokens/s, peak RSS overall.
 */
import { CausalLM, HfCheckpoint, initBackend } from "@conceptscope/model-runners"
import * as tf from "@tensorflow/tfjs"

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const rssMb = () => process.resourceUsage().maxRSS / 1024

const main = async () => {
  await initBackend()
  const dir = arg("model", "")
  const mode = arg("mode", "memory") as "memory" | "streamed"
  const [B, T, reps] = [Number(arg("batch", "4")), Number(arg("seq", "128")), Number(arg("reps", "3"))]
  const baseline = rssMb()
  let t0 = performance.now()
  const model = CausalLM.load(dir, { mode })
  const loadS = (performance.now() - t0) / 1000
  const loadRss = rssMb()
  let s = 12345
  const V = model.arch.dims.vocab
  const ids = Array.from({ length: B }, () => Array.from({ length: T }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) % V))
  const run = () => {
    const { logits } = model.forward({ ids }) // logits at every position, as the PyTorch side computes
    ;(logits as tf.Tensor).dispose()
  }
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
