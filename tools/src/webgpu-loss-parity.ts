/**
 * `npm run check:webgpu -- [--config paper] [--steps 200] [--batch B] [--out FILE]`: trains the preset's regression
 * transformer for `steps` steps on wasm (with the native kernels when they load) and on webgpu, from the
 * same initial weights and the same batches (the train stage's sampler and seeds), and compares the two
 * loss curves step by step. `--batch` replaces the preset's batch size (on a software adapter a paper step
 * at batch 128 takes minutes).
 *
 * Stated tolerance: at every step |loss_webgpu - loss_wasm| <= 1e-3 * loss_wasm (float32 sums in another
 * order, the driver's exp and tanh; differences grow slowly with the steps). Exits 1 when it does not hold.
 * Each backend runs in its own child process (`--child wasm|webgpu`), so neither sees the other's state.
 */
import { hashString } from "@conceptscope/core"
import { trainRegression } from "@conceptscope/finetuners"
import { initBackend } from "@conceptscope/model-runners"
import { cellTask, loadConfig, type SyntheticConfig } from "@conceptscope/pipeline"
import { sampleSequences } from "@conceptscope/task-generators"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : dflt
}
const TOLERANCE = 1e-3

async function child(backend: "wasm" | "webgpu", configName: string, steps: number, batch: number | null): Promise<void> {
  const info = await initBackend(backend)
  const config = (await Effect.runPromise(loadConfig(configName))).config as SyntheticConfig
  const { model, train } = config
  const seed = config.seeds[0]
  const task = cellTask(config.task, seed)
  const t0 = performance.now()
  const r = await trainRegression({
    model: { ...model, xDim: task.dim, maxExamples: task.nExamples, seed },
    steps,
    batchSize: batch ?? train.batchSize,
    lr: train.lr,
    betas: [train.beta1, train.beta2],
    clipGradNorm: train.gradClip,
    checkpoints: [],
    label: backend,
    sampleBatch: (B, step) => {
      const b = sampleSequences(task, { n: B, seed: hashString(`train:${seed}:${step}`) })
      return { xs: b.xs, ys: b.ys }
    }
  })
  r.model.dispose()
  console.log(JSON.stringify({ backend, reason: info.reason, msPerStep: (performance.now() - t0) / steps, losses: Array.from(r.losses) }))
}

function main(): void {
  const configName = arg("config", "paper")
  const steps = Number(arg("steps", "200"))
  const batch = arg("batch", "")
  const runs = (["wasm", "webgpu"] as const).map((b) => {
    const p = spawnSync(process.execPath, [...process.execArgv, process.argv[1], "--child", b, "--config", configName, "--steps", String(steps), ...(batch ? ["--batch", batch] : [])], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 })
    if (p.status !== 0) throw new Error(`the ${b} run failed (exit ${p.status})`)
    return JSON.parse(p.stdout.trim().split("\n").at(-1) as string) as { backend: string; reason: string; msPerStep: number; losses: number[] }
  })
  const [cpu, gpu] = runs
  let worst = 0
  let worstStep = 0
  cpu.losses.forEach((l, s) => {
    const rel = Math.abs(gpu.losses[s] - l) / Math.abs(l)
    if (rel > worst) [worst, worstStep] = [rel, s]
  })
  const summary = {
    config: configName,
    steps,
    batch: batch ? Number(batch) : "the preset's",
    tolerance: `|webgpu - wasm| <= ${TOLERANCE} x wasm at every step`,
    held: worst <= TOLERANCE,
    worstRelativeDifference: worst,
    atStep: worstStep + 1,
    first: { wasm: cpu.losses[0], webgpu: gpu.losses[0] },
    last: { wasm: cpu.losses.at(-1), webgpu: gpu.losses.at(-1) },
    msPerStep: { wasm: cpu.msPerStep, webgpu: gpu.msPerStep },
    backends: { wasm: cpu.reason, webgpu: gpu.reason },
    losses: { wasm: cpu.losses, webgpu: gpu.losses }
  }
  const out = arg("out", "")
  if (out) fs.writeFileSync(out, JSON.stringify(summary, null, 1) + "\n")
  const { losses: _l, ...brief } = summary
  console.log(JSON.stringify(brief, null, 1))
  if (!summary.held) process.exit(1)
}

const c = arg("child", "")
if (c === "wasm" || c === "webgpu") {
  child(c, arg("config", "paper"), Number(arg("steps", "200")), arg("batch", "") ? Number(arg("batch", "")) : null).then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`)
      process.exit(1)
    }
  )
} else main()
