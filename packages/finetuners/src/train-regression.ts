import { RegressionTransformer, type RegressionTransformerConfig } from "@conceptscope/model-runners"
import { defaultAdam } from "./adam.js"
import { RegressionTrainer } from "./regression-trainer.js"
import { checkpointSchedule } from "./schedule.js"
import { TrainingConfigError } from "./errors.js"
import { runTrainingLoop } from "./training-loop.js"

/**
 * Training loop of the regression transformer (study defaults: Adam lr 1e-4, betas (0.9, 0.9999),
 * MSE on the y predictions only, batch 128).
 *
 * Step numbering: "step s" is the model after s updates. Update s (s = start .. steps-1) uses the batch
 * `sampleBatch(batchSize, s)`; so that a resumed run sees the same data, sampleBatch must depend only on
 * its arguments (derive the batch's Rng from (seed, step)). Checkpoint steps lie in 0..steps; at each one
 * the weights are saved to the run directory (when there is one) and `onCheckpoint(step, model, trainer)` runs.
 *
 * Resuming: with `runDir` (see RunDir) the run saves its state there every `stateEvery` updates and at
 * every checkpoint, and a call with the same directory continues from the last complete state. The
 * result is the same bytes as an uninterrupted run.
 */
export interface Batch {
  readonly xs: Float32Array // [B, K, D]
  readonly ys: Float32Array // [B, K]
}

export interface TrainRegressionOptions {
  /** The model to train, or a config to create it from (with `seed`, when given, replacing config.seed). */
  readonly model: RegressionTransformer | RegressionTransformerConfig
  readonly seed?: number
  /** Total number of updates (the last step). */
  readonly steps: number
  readonly batchSize: number
  /** Examples per sequence K (default: the model's maxExamples). */
  readonly numExamples?: number
  readonly sampleBatch: (batchSize: number, step: number) => Batch
  readonly lr?: number
  readonly betas?: readonly [number, number]
  readonly eps?: number
  readonly weightDecay?: number
  /** Optional learning rate per update (e.g. warmup); default constant `lr`. */
  readonly lrAt?: (step: number) => number
  readonly clipGradNorm?: number
  /** MSE only over example indices k >= lossFromIndex (0-based). */
  readonly lossFromIndex?: number
  /** Gradient accumulation chunk (rows), see TrainerOptions.microBatch; default "auto". */
  readonly microBatch?: number | "auto"
  /** Checkpoint steps: an explicit list, or a count for `checkpointSchedule(steps, count)`. Default 20. */
  readonly checkpoints?: readonly number[] | number
  readonly onCheckpoint?: (step: number, model: RegressionTransformer, trainer: RegressionTrainer) => void | Promise<void>
  /** Called after every update with the batch loss. */
  readonly onStep?: (step: number, loss: number) => void
  /** Resumable run directory: checkpoints go to `<runDir>/checkpoints/`, and the run continues from its last saved state. */
  readonly runDir?: string
  /** With runDir: save resumable state every this many updates (default ceil(steps / 40)), besides every checkpoint step. */
  readonly stateEvery?: number
  /** Label of the progress lines on stderr. */
  readonly label?: string
}

export interface TrainRegressionResult {
  readonly model: RegressionTransformer
  readonly trainer: RegressionTrainer
  readonly startStep: number
  /** The step a run directory's saved state resumed from, null for a fresh run. */
  readonly resumedFrom: number | null
  readonly finalStep: number
  /** Batch loss of each update run in this call: losses[i] belongs to update startStep + i. */
  readonly losses: Float32Array
  readonly checkpointSteps: readonly number[]
  /** Mean wall time of one update (forward, backward, Adam; excludes sampling and checkpoints). */
  readonly msPerStep: number
}

export async function trainRegression(opts: TrainRegressionOptions): Promise<TrainRegressionResult> {
  const { steps, batchSize } = opts
  if (!Number.isInteger(steps) || steps < 0) throw new TrainingConfigError({ field: "steps", reason: `${steps}` })
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TrainingConfigError({ field: "batchSize", reason: `${batchSize}` })
  const model =
    opts.model instanceof RegressionTransformer
      ? opts.model
      : RegressionTransformer.create({ ...opts.model, seed: opts.seed ?? opts.model.seed })
  const K = opts.numExamples ?? model.config.maxExamples
  const [beta1, beta2] = opts.betas ?? [defaultAdam.beta1, defaultAdam.beta2]
  const trainer = new RegressionTrainer(model, {
    adam: {
      lr: opts.lr ?? defaultAdam.lr,
      beta1,
      beta2,
      eps: opts.eps ?? defaultAdam.eps,
      weightDecay: opts.weightDecay ?? defaultAdam.weightDecay
    },
    clipGradNorm: opts.clipGradNorm,
    lossFromIndex: opts.lossFromIndex,
    microBatch: opts.microBatch
  })
  const schedule =
    typeof opts.checkpoints === "number" || opts.checkpoints === undefined
      ? checkpointSchedule(steps, opts.checkpoints ?? 20)
      : [...opts.checkpoints].sort((a, b) => a - b)
  const loop = await runTrainingLoop(
    {
      get step() {
        return trainer.step
      },
      update: (s, lr) => {
        const batch = opts.sampleBatch(batchSize, s)
        return trainer.update(batch.xs, batch.ys, batchSize, K, lr)
      },
      saveCheckpoint: (file, step) => model.save(file, { step: String(step) }),
      saveState: (w, o) => trainer.saveState(w, o),
      resume: (step, w, o) => trainer.resume(step, w, o)
    },
    {
      steps,
      checkpoints: schedule,
      runDir: opts.runDir,
      stateEvery: opts.stateEvery,
      lrAt: opts.lrAt,
      onCheckpoint: opts.onCheckpoint ? (step) => opts.onCheckpoint!(step, model, trainer) : undefined,
      onStep: opts.onStep,
      label: opts.label ?? "train"
    }
  )
  return { model, trainer, startStep: loop.startStep, resumedFrom: loop.resumedFrom, finalStep: steps, losses: loop.losses, checkpointSteps: schedule, msPerStep: loop.msPerStep }
}
