/**
 * One measurement of `npm run bench -- --backend NAME`, in its own process so each backend starts clean:
 *   tsx tools/src/bench-backend-child.ts --backend wasm|webgpu --what quick|paper|lm|td [--model DIR]
 * prints one JSON line: milliseconds per step / forward / call, the backend line, and tf.memory() after
 * the measurement (tensors and bytes still held: a leak shows here).
 * - quick, paper: a training update (forward + backward + Adam, the loss read back) of the preset's model
 *   at its batch size, after one warm-up update (paper: 1 timed step, quick: 5);
 * - lm: a forward pass of the ~100M Llama checkpoint in memory mode (4 x 128 tokens, logits at every
 *   position, read back), after one warm-up;
 * - td: one taskDecodability call on 700 x 4096 (its distance products run on the backend).
 */
import { CausalLM, initBackend, type BackendPref } from "@conceptscope/model-runners"
import { loadConfig, type SyntheticConfig } from "@conceptscope/pipeline"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { benchTD } from "./bench/td.js"
import { benchTrainStep } from "./bench/train-step.js"

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}

async function trainStep(preset: string, steps: number): Promise<number> {
  const config = (await Effect.runPromise(loadConfig(preset))).config as SyntheticConfig
  const model = { ...config.model, xDim: config.task.dim, maxExamples: config.task.nExamples, seed: 0 }
  return (await benchTrainStep(model, config.train.batchSize, steps)).msPerStep
}

async function lmForward(dir: string): Promise<number> {
  const model = CausalLM.load(dir, { mode: "memory" })
  let s = 12345
  const ids = Array.from({ length: 4 }, () => Array.from({ length: 128 }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) % model.arch.dims.vocab))
  const once = async () => {
    const t0 = performance.now()
    const { logits } = model.forward({ ids })
    await (logits as tf.Tensor).data() // the GPU's work is done only when the result is back
    ;(logits as tf.Tensor).dispose()
    return performance.now() - t0
  }
  await once()
  const ms = await once()
  model.dispose()
  return ms
}

const main = async () => {
  // the named backend also for the helpers that call initBackend() without an argument
  process.env.CONCEPTSCOPE_BACKEND = arg("backend", "wasm")
  const info = await initBackend(arg("backend", "wasm") as BackendPref)
  const what = arg("what", "quick")
  const ms = what === "quick" ? await trainStep("quick", 5) : what === "paper" ? await trainStep("paper", 1) : what === "lm" ? await lmForward(arg("model", "")) : benchTD(700, 4096)
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number }
  console.log(JSON.stringify({ backend: info.name, reason: info.reason, what, ms, tensors: m.numTensors, bytes: m.numBytes, gpuBytes: m.numBytesInGPU ?? null }))
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  }
)
