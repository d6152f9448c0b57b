/**
 * `npm run check:webgpu -- [--config paper] [--steps 200] [--batch B] [--out FILE]`: trains the preset's regression
 * transformer for `steps` steps on webgpu and on two wasm implementations (the native kernels over BLAS,
 * and the stock XNNPACK kernels with CONCEPTSCOPE_NATIVE=0), from the same initial weights and the same
 * batches (the train stage's sampler and seeds), and compares the loss curves step by step. `--batch`
 * replaces the preset's batch size (on a software adapter a paper step at batch 128 takes minutes).
 *
 * Two float32 implementations that sum in different orders start within ~1e-7 of each other and then
 * drift apart as training amplifies the difference (chaotically: the step where the drift peaks is
 * heavy-tailed). The two wasm runs are that null: both are correct, they differ only in summation order.
 * Stated criterion, fixed before any run:
 *   (a) over the first 10 steps |webgpu - wasm| <= 1e-4 x wasm (a wrong kernel or gradient shows here), and
 *   (b) over all steps the worst relative difference <= max(1e-3, 10 x the null's worst relative difference).
 * Exits 1 when either fails. Each run is its own child process, so none sees another's state; with
 * `--out`, runs already in that file for the same config, steps and batch are reused (a long check resumes).
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
const EARLY_STEPS = 10
const EARLY_TOLERANCE = 1e-4
const FLOOR = 1e-3
const NULL_FACTOR = 10
const RUNS = ["wasm", "wasm-stock", "webgpu"] as const
type RunName = (typeof RUNS)[number]
interface RunResult { readonly backend: string; readonly reason: string; readonly msPerStep: number; readonly losses: number[] }

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

/** Worst |b - a| / |a| over steps [from, to), and the step (1-based) where it is. */
function worstRelative(a: number[], b: number[], from = 0, to = a.length): { worst: number; atStep: number } {
  let worst = 0
  let atStep = from + 1
  for (let s = from; s < to; s++) {
    const rel = Math.abs(b[s] - a[s]) / Math.abs(a[s])
    if (rel > worst) [worst, atStep] = [rel, s + 1]
  }
  return { worst, atStep }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

function main(): void {
  const configName = arg("config", "paper")
  const steps = Number(arg("steps", "200"))
  const batch = arg("batch", "")
  const out = arg("out", "")
  const key = { config: configName, steps, batch: batch ? Number(batch) : "the preset's" }
  const previous = out && fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, "utf8")) as { key?: unknown; runs?: Partial<Record<RunName, RunResult>> }) : {}
  const reusable = JSON.stringify(previous.key) === JSON.stringify(key) ? (previous.runs ?? {}) : {}
  const runs: Partial<Record<RunName, RunResult>> = {}
  for (const name of RUNS) {
    const kept = reusable[name]
    if (kept !== undefined) {
      console.error(`${name}: reused from ${out}`)
      runs[name] = kept
      continue
    }
    const backend = name === "webgpu" ? "webgpu" : "wasm"
    const env = name === "wasm-stock" ? { ...process.env, CONCEPTSCOPE_NATIVE: "0" } : process.env
    const p = spawnSync(process.execPath, [...process.execArgv, process.argv[1], "--child", backend, "--config", configName, "--steps", String(steps), ...(batch ? ["--batch", batch] : [])], { encoding: "utf8", env, stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 })
    if (p.status !== 0) throw new Error(`the ${name} run failed (exit ${p.status})`)
    runs[name] = JSON.parse(p.stdout.trim().split("\n").at(-1) as string) as RunResult
    if (out) fs.writeFileSync(out, JSON.stringify({ key, runs }, null, 1) + "\n") // resumable after each run
  }
  const [ref, stock, gpu] = RUNS.map((n) => runs[n] as RunResult)
  const early = worstRelative(ref.losses, gpu.losses, 0, Math.min(EARLY_STEPS, steps))
  const all = worstRelative(ref.losses, gpu.losses)
  const nul = worstRelative(ref.losses, stock.losses)
  const bound = Math.max(FLOOR, NULL_FACTOR * nul.worst)
  const tail = Math.max(1, Math.floor(steps / 4))
  const summary = {
    key,
    criterion: `(a) first ${EARLY_STEPS} steps |webgpu - wasm| <= ${EARLY_TOLERANCE} x wasm; (b) all steps <= max(${FLOOR}, ${NULL_FACTOR} x the wasm-stock vs wasm worst)`,
    held: early.worst <= EARLY_TOLERANCE && all.worst <= bound,
    early: { webgpu: early, null: worstRelative(ref.losses, stock.losses, 0, Math.min(EARLY_STEPS, steps)) },
    allSteps: { webgpu: all, null: nul, bound },
    [`meanLossLast${tail}Steps`]: Object.fromEntries(RUNS.map((n) => [n, mean((runs[n] as RunResult).losses.slice(-tail))])),
    msPerStep: Object.fromEntries(RUNS.map((n) => [n, (runs[n] as RunResult).msPerStep])),
    backends: Object.fromEntries(RUNS.map((n) => [n, (runs[n] as RunResult).reason]))
  }
  if (out) fs.writeFileSync(out, JSON.stringify({ key, summary, runs }, null, 1) + "\n")
  console.log(JSON.stringify(summary, null, 1))
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
