/**
 * One side of `npm run bench:torch`, in its own process so that its peak RSS is its own:
 *   tsx tools/src/bench-step-child.ts --model gpt|quick|embedded|lora|lora-full --steps N --warmup W [--dir CHECKPOINT]
 * prints one JSON line {model, ms_per_step, peak_rss_mb, backend, kernels}.
 */
import { initBackend } from "@conceptscope/model-runners"
import { benchLmStep } from "./bench/lm-step.js"
import { benchLoraStep } from "./bench/lora-step.js"
import { benchTrainStep } from "./bench/train-step.js"
import { benchGptStep } from "./gpt-bench-model.js"

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}

/** The quick preset's regression transformer (apps/pipeline/configs/quick.json) and batch. */
export const QUICK_MODEL = { nLayers: 4, dModel: 64, nHeads: 4, tokenFormat: "xy-pair" as const, xDim: 8, maxExamples: 6, seed: 0 }

const main = async () => {
  const model = arg("model", "quick")
  const steps = Number(arg("steps", "10"))
  const warmup = Number(arg("warmup", "2"))
  const info = await initBackend()
  let ms: number
  if (model === "gpt") ms = (await benchGptStep({ steps, warmup })).msPerStep
  else if (model === "quick") {
    for (let i = 0; i < warmup - 1; i++) await benchTrainStep(QUICK_MODEL, 64, 1) // benchTrainStep warms up once itself
    ms = (await benchTrainStep(QUICK_MODEL, 64, steps)).msPerStep
  } else if (model === "embedded") ms = benchLmStep({ steps, warmup }).msPerStep
  else if (model === "lora" || model === "lora-full") ms = benchLoraStep({ dir: arg("dir", ""), mode: model === "lora" ? "lora" : "full", steps, warmup }).msPerStep
  else throw new Error(`--model: expected gpt, quick, embedded, lora or lora-full, got ${model}`)
  const peak = process.resourceUsage().maxRSS / 1024 // KiB -> MiB
  console.log(JSON.stringify({ model, ms_per_step: ms, peak_rss_mb: peak, backend: info.name, kernels: info.reason.split("; ").pop() }))
}

main().catch((e) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
