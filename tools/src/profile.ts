/**
 * `npm run profile -- [quick|gpt|llm] [--steps N] [--shapes] [--model DIR]`: where a training step's time goes
 * (llm: a forward pass of 4 x 128 tokens of the checkpoint in DIR, default the bench's ~100M Llama), per
 * wasm kernel, on the active backend (set CONCEPTSCOPE_NATIVE=0 for the stock kernels). Not a test.
 */
import { profileKernels } from "@conceptscope/kernels"
import { CausalLM, initBackend } from "@conceptscope/model-runners"
import * as tf from "@tensorflow/tfjs"
import * as os from "node:os"
import * as path from "node:path"
import { benchTrainStep } from "./bench/train-step.js"
import { benchGptStep } from "./gpt-bench-model.js"

const which = process.argv.includes("gpt") ? "gpt" : process.argv.includes("llm") ? "llm" : "quick"
const flag = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : undefined
}
const steps = Number(flag("steps") ?? (which === "quick" ? 10 : 2))

/** A forward of 4 x 128 tokens (logits at every position) per "step", as bench:torch's llm row. */
function llmRunner(): () => Promise<void> {
  const model = CausalLM.load(flag("model") ?? path.join(os.tmpdir(), "conceptscope-bench-llama3-100m"), { mode: "memory" })
  const V = model.arch.dims.vocab
  const ids = Array.from({ length: 4 }, (_, b) => Array.from({ length: 128 }, (_, t) => (b * 7919 + t * 104729) % V))
  return async () => {
    for (let i = 0; i < steps; i++) (model.forward({ ids }).logits as tf.Tensor).dispose()
  }
}

const main = async () => {
  const info = await initBackend()
  const quick = { nLayers: 4, dModel: 64, nHeads: 4, tokenFormat: "xy-pair" as const, xDim: 8, maxExamples: 6, seed: 0 }
  const llm = which === "llm" ? llmRunner() : null
  const run = () => (llm ? llm() : which === "gpt" ? benchGptStep({ steps, warmup: 0 }) : benchTrainStep(quick, 64, steps))
  await run() // warm-up, unprofiled
  const { kernels, totalMs } = await profileKernels(
    async () => {
      await run()
    },
    { byShape: process.argv.includes("--shapes") }
  )
  const kernelMs = kernels.reduce((a, k) => a + k.ms, 0)
  console.log(`${which} model, ${steps} steps on ${info.name} (${info.reason})`)
  console.log(`wall ${(totalMs / steps).toFixed(1)} ms/step, in kernels ${(kernelMs / steps).toFixed(1)} ms/step`)
  console.log("| kernel | calls/step | ms/step | share |\n|---|---|---|---|")
  for (const k of kernels.slice(0, 25)) {
    console.log(`| ${k.kernel} | ${(k.calls / steps).toFixed(0)} | ${(k.ms / steps).toFixed(2)} | ${((100 * k.ms) / totalMs).toFixed(1)}% |`)
  }
}

main().catch((e) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
