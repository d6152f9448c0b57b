import * as tf from "@tensorflow/tfjs"
import { TrainableLlama } from "@conceptscope/model-runners"
import { loadSafetensors, saveSafetensors, type TensorData } from "@conceptscope/safetensors"
import { type AdamOptions, defaultAdam } from "./adam.js"
import { DivergedError, ResumeError, TrainingConfigError } from "./errors.js"
import { ParamUpdater } from "./param-updater.js"
import { checkpointSchedule } from "./schedule.js"
import { runTrainingLoop, type LoopResult } from "./training-loop.js"

/**
 * Next-token pretraining of a `TrainableLlama` (the embedded LM of the LLM half): cross-entropy on the
 * batch's targets, backward with tf.variableGrads, Adam in JS (ParamUpdater), resumable through the
 * shared training loop.
 */
export interface LmBatch {
  /** [B*T] row-major token ids */
  readonly ids: Int32Array
  /** [B*T] the token to predict after each position, -1 for none */
  readonly targets: Int32Array
  readonly B: number
  readonly T: number
}

export class LmTrainer {
  private readonly updater: ParamUpdater

  constructor(
    readonly model: TrainableLlama,
    adam: AdamOptions,
    clipGradNorm?: number
  ) {
    // what trains: every weight, the layers of trainOnlyLayers, or an attached LoRA adapter's A and B
    this.updater = new ParamUpdater(model.trainable(), adam, clipGradNorm)
  }

  get step(): number {
    return this.updater.adam.t
  }

  /** One update on `batch`; returns its loss before the update. DivergedError on a non-finite loss (weights untouched). */
  update(batch: LmBatch, lr?: number): number {
    const { ids, targets, B, T } = batch
    if (ids.length !== B * T || targets.length !== B * T) throw new TrainingConfigError({ field: "batch", reason: `ids ${ids.length} and targets ${targets.length} values for B ${B} x T ${T}` })
    const names = [...this.updater.vars.keys()]
    const vars = names.map((n) => this.updater.vars.get(n) as tf.Variable)
    // an adapter's dropout masks are drawn from the step, so a resumed run sees the same ones
    const dropoutSeed = this.model.lora && this.model.lora.spec.dropout > 0 ? `lora-dropout:${this.step}` : null
    let r: { value: tf.Scalar; grads: tf.NamedTensorMap }
    try {
      r = tf.variableGrads(() => this.model.loss(ids, targets, B, T, dropoutSeed), vars)
    } finally {
      this.model.release()
    }
    const { value, grads } = r
    const loss = value.dataSync()[0]
    value.dispose()
    if (!Number.isFinite(loss)) {
      tf.dispose(grads)
      throw new DivergedError({ step: this.step, loss })
    }
    const g = new Map(names.map((n, i) => [n, grads[vars[i].name].dataSync() as Float32Array]))
    tf.dispose(grads)
    this.updater.apply(g, lr)
    return loss
  }

  async saveWeights(file: string, step: number): Promise<void> {
    const tensors = new Map<string, TensorData>()
    for (const [n, v] of this.updater.vars) tensors.set(n, { shape: v.shape, data: this.updater.master.get(n) as Float32Array })
    await saveSafetensors(file, tensors, { format: "pt", step: String(step) })
  }

  async saveState(weightsFile: string, optimizerFile: string): Promise<void> {
    await this.saveWeights(weightsFile, this.step)
    await this.updater.adam.save(optimizerFile)
  }

  async resume(step: number, weightsFile: string, optimizerFile: string): Promise<void> {
    const { tensors, metadata } = await loadSafetensors(weightsFile)
    if (Number(metadata.step) !== step) throw new ResumeError({ file: weightsFile, reason: `weights are from step ${metadata.step}, resume asked for step ${step}` })
    for (const [n, v] of this.updater.vars) {
      const x = tensors.get(n)
      if (!x || x.data.length !== v.size) throw new ResumeError({ file: weightsFile, tensor: n, reason: x ? `${x.data.length} values, the model needs ${v.size}` : "missing" })
      v.assign(tf.tensor(x.data, v.shape))
    }
    await this.updater.adam.load(optimizerFile)
    if (this.step !== step) throw new ResumeError({ file: optimizerFile, reason: `optimizer state is at step ${this.step}, resume asked for step ${step}` })
    this.updater.reloadMaster()
  }
}

export interface TrainLmOptions {
  readonly steps: number
  /** Batch of update s, a function of (seed, s) alone. */
  readonly sampleBatch: (step: number) => LmBatch
  readonly adam?: Partial<AdamOptions>
  readonly clipGradNorm?: number
  readonly lrAt?: (step: number) => number
  /** Checkpoint steps, or a count for checkpointSchedule (default 8). */
  readonly checkpoints?: readonly number[] | number
  readonly onCheckpoint?: (step: number, model: TrainableLlama) => void | Promise<void>
  readonly runDir?: string
  readonly stateEvery?: number
  readonly label?: string
}

export interface PretrainLmOptions extends TrainLmOptions {
  /** config.json of the model (llamaConfigJson) */
  readonly config: Record<string, unknown>
  readonly seed: number
}

export interface PretrainLmResult extends LoopResult {
  readonly model: TrainableLlama
  readonly checkpointSteps: readonly number[]
}

/**
 * Train what `model.trainable()` names (every weight, the layers of trainOnlyLayers, or an attached LoRA
 * adapter) on next-token loss, resumably: the shared training loop with Adam, clipping and the schedule.
 */
export async function trainLm(model: TrainableLlama, opts: TrainLmOptions): Promise<PretrainLmResult> {
  const trainer = new LmTrainer(model, { ...defaultAdam, ...opts.adam }, opts.clipGradNorm)
  const schedule = Array.isArray(opts.checkpoints) ? [...opts.checkpoints].sort((a, b) => a - b) : checkpointSchedule(opts.steps, (opts.checkpoints as number | undefined) ?? 8)
  let tokens = 0
  const loop = await runTrainingLoop(
    {
      get step() {
        return trainer.step
      },
      update: (s, lr) => {
        const batch = opts.sampleBatch(s)
        tokens += batch.B * batch.T // positions processed, scored or not
        return trainer.update(batch, lr)
      },
      saveCheckpoint: (file, step) => trainer.saveWeights(file, step),
      saveState: (w, o) => trainer.saveState(w, o),
      resume: (step, w, o) => trainer.resume(step, w, o)
    },
    {
      steps: opts.steps,
      checkpoints: schedule,
      runDir: opts.runDir,
      stateEvery: opts.stateEvery,
      lrAt: opts.lrAt,
      onCheckpoint: opts.onCheckpoint ? (step) => opts.onCheckpoint!(step, model) : undefined,
      label: opts.label ?? "train-lm",
      detail: (_s, ms) => `${Math.round(tokens / Math.max(ms / 1000, 1e-9))} tokens/s`
    }
  )
  return { ...loop, model, checkpointSteps: schedule }
}

/** Pretraining from HF's initialisation (`seed`). */
export async function pretrainLm(opts: PretrainLmOptions): Promise<PretrainLmResult> {
  return trainLm(TrainableLlama.init(opts.config, opts.seed), { ...opts, label: opts.label ?? "pretrain" })
}
