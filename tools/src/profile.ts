/**
 * `npm run profile -- [quick|gpt] [--steps N] [--shapes]`: where a training step's time goes, per wasm kernel, on
 * the active backend (set CONCEPTSCOPE_NATIVE=0 for the stock kernels). Not a test.
 */
import { benchTrainStep } from "@conceptscope/finetuners"
import { profileKernels } from "@conceptscope/kernels"
import { initBackend } from "@conceptscope/model-runners"
import { benchGptStep } from "./gpt-bench-model"

const which = process.argv.includes("gpt") ? "gpt" : "quick"
const stepsArg = process.argv.indexOf("--steps")
const steps = stepsArg > 0 ? Number(process.argv[stepsArg + 1]) : which === "gpt" ? 2 : 10

const main = async () => {
  const info = await initBackend()
  const quick = { nLayers: 4, dModel: 64, nHeads: 4, tokenFormat: "xy-pair" as const, xDim: 8, maxExamples: 6, seed: 0 }
  const run = () => (which === "gpt" ? benchGptStep({ steps, warmup: 0 }) : benchTrainStep(quick, 64, steps))
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
