import { note, progress } from "@conceptscope/core"
import { TrainingConfigError } from "./errors.js"
import { RunDir } from "./run-dir.js"

/**
 * The resumable training loop shared by the regression transformer and the embedded LM.
 *
 * Step numbering: "step s" is the model after s updates; `update(s, lr)` performs update s (s = start ..
 * steps-1) and must draw its batch from (seed, s) alone, so that a resumed run sees the same data. At each
 * checkpoint step the weights are saved to the run directory (when there is one) and `onCheckpoint(step)`
 * runs. With `runDir` (see RunDir) the run saves its state there every `stateEvery` updates and at every
 * checkpoint, and a call with the same directory continues from the last complete state: the result is the
 * same bytes as an uninterrupted run.
 */
export interface Trainable {
  /** updates done so far */
  readonly step: number
  /** Update `step` (the model goes from step to step + 1); returns the batch loss before it. */
  update(step: number, lr: number | undefined): number
  saveCheckpoint(file: string, step: number): Promise<void>
  saveState(weightsFile: string, optimizerFile: string): Promise<void>
  resume(step: number, weightsFile: string, optimizerFile: string): Promise<void>
}

export interface LoopOptions {
  readonly steps: number
  /** checkpoint steps, increasing, within 0..steps */
  readonly checkpoints: readonly number[]
  readonly runDir?: string
  /** With runDir: save resumable state every this many updates (default ceil(steps / 40)), besides every checkpoint step. */
  readonly stateEvery?: number
  readonly lrAt?: (step: number) => number
  readonly onCheckpoint?: (step: number) => void | Promise<void>
  readonly onStep?: (step: number, loss: number) => void
  /** Progress label on stderr. */
  readonly label: string
  /** Extra text of a progress line after update `step` (e.g. tokens/s), beside the loss. */
  readonly detail?: (step: number, msSoFar: number) => string
}

export interface LoopResult {
  readonly startStep: number
  /** The step a run directory's saved state resumed from, null for a fresh run. */
  readonly resumedFrom: number | null
  /** Batch loss of each update run in this call: losses[i] belongs to update startStep + i. */
  readonly losses: Float32Array
  /** Mean wall time of one update (excludes checkpoints and state saves). */
  readonly msPerStep: number
}

export async function runTrainingLoop(t: Trainable, opts: LoopOptions): Promise<LoopResult> {
  const { steps } = opts
  if (!Number.isInteger(steps) || steps < 0) throw new TrainingConfigError({ field: "steps", reason: `${steps}` })
  const wanted = new Set(opts.checkpoints)
  const run = opts.runDir === undefined ? null : new RunDir(opts.runDir)
  const resumed = run?.open() ?? null
  if (resumed !== null) {
    if (resumed > steps) throw new TrainingConfigError({ field: "runDir", reason: `${run!.dir} holds a run at step ${resumed}, beyond ${steps} steps` })
    const state = run!.statePaths(resumed)
    await t.resume(resumed, state.weights, state.optimizer)
    note(opts.label, `resuming from step ${resumed} (${run!.dir})`)
  }
  const start = resumed ?? 0
  const every = opts.stateEvery ?? Math.max(1, Math.ceil(steps / 40))
  if (!Number.isInteger(every) || every < 1) throw new TrainingConfigError({ field: "stateEvery", reason: `${every}` })
  /** After the update that reached `step`: checkpoint, callback, resumable state. */
  const reached = async (step: number) => {
    const isCheckpoint = wanted.has(step)
    if (isCheckpoint && run) await t.saveCheckpoint(run.checkpointPath(step), step)
    if (isCheckpoint && opts.onCheckpoint) await opts.onCheckpoint(step)
    if (run && (isCheckpoint || step % every === 0)) {
      const state = run.statePaths(step)
      await t.saveState(state.weights, state.optimizer)
      run.commitState(step)
    }
  }
  if (resumed === null) await reached(0)
  const losses = new Float32Array(steps - start)
  const bar = progress(opts.label, steps - start)
  let ema = NaN
  let updateMs = 0
  let lastYield = performance.now()
  for (let s = start; s < steps; s++) {
    const lr = opts.lrAt ? opts.lrAt(s) : undefined
    const t0 = performance.now()
    const loss = t.update(s, lr)
    updateMs += performance.now() - t0
    losses[s - start] = loss
    ema = Number.isNaN(ema) ? loss : 0.98 * ema + 0.02 * loss
    opts.onStep?.(s, loss)
    const extra = opts.detail ? ` ${opts.detail(s, updateMs)}` : ""
    bar.tick(1, `step ${s + 1} loss ${loss.toFixed(4)} (ema ${ema.toFixed(4)})${extra}`)
    await reached(s + 1)
    // let timers and I/O run now and then (lock heartbeats, signals): the updates themselves are synchronous
    if (performance.now() - lastYield > 500) {
      await new Promise((r) => setImmediate(r))
      lastYield = performance.now()
    }
  }
  const msPerStep = steps > start ? updateMs / (steps - start) : 0
  bar.done(`loss ema ${ema.toFixed(4)}, ${msPerStep.toFixed(1)} ms/step`)
  return { startStep: start, resumedFrom: resumed, losses, msPerStep }
}
