import * as tf from "@tensorflow/tfjs"
import { onWasm, type RegressionTransformer } from "@conceptscope/model-runners"
import { Adam, type AdamOptions } from "./adam"
import { DivergedError, ResumeError, TrainingConfigError } from "./errors"

/**
 * One optimisation step of the regression transformer: forward, MSE on the y predictions, backward
 * (tf.variableGrads), optional global-norm clipping, Adam in JS, weights written back to the variables.
 * The trainer keeps a float32 master copy of the weights equal to the variables' contents, so saving
 * and resuming are exact.
 */
export interface TrainerOptions {
  readonly adam: AdamOptions
  /** Clip the global L2 norm of the gradients to this value (PyTorch clip_grad_norm_); none by default. */
  readonly clipGradNorm?: number
  /** MSE only over predictions k >= lossFromIndex (0-based example index); default 0 = all. */
  readonly lossFromIndex?: number
}

export class RegressionTrainer {
  readonly adam: Adam
  private readonly vars: Map<string, tf.Variable>
  private readonly master = new Map<string, Float32Array>()

  constructor(
    readonly model: RegressionTransformer,
    readonly opts: TrainerOptions
  ) {
    this.vars = model.parameters()
    const shapes = new Map<string, number[]>()
    for (const [n, v] of this.vars) {
      shapes.set(n, v.shape)
      this.master.set(n, v.dataSync().slice() as Float32Array)
    }
    this.adam = new Adam(opts.adam, shapes)
    if (opts.clipGradNorm !== undefined && !(opts.clipGradNorm > 0)) {
      throw new TrainingConfigError({ field: "clipGradNorm", reason: `must be > 0, got ${opts.clipGradNorm}` })
    }
  }

  /** Number of updates done so far (the model is "at step" this). */
  get step(): number {
    return this.adam.t
  }

  /**
   * One update on xs [B, K, D], ys [B, K] (flat, row-major). Returns the batch loss before the update.
   * Throws DivergedError on a NaN/infinite loss (weights untouched).
   */
  update(xs: Float32Array, ys: Float32Array, batch: number, k: number, lr?: number): number {
    const D = this.model.config.xDim
    if (xs.length !== batch * k * D || ys.length !== batch * k) {
      throw new TrainingConfigError({
        field: "sampleBatch",
        reason: `expected xs of ${batch}x${k}x${D} and ys of ${batch}x${k} values, got ${xs.length} and ${ys.length}`
      })
    }
    const from = this.opts.lossFromIndex ?? 0
    if (from < 0 || from >= k) throw new TrainingConfigError({ field: "lossFromIndex", reason: `${from} is outside 0..${k - 1}` })
    const varNames = [...this.vars.keys()]
    const varList = varNames.map((n) => this.vars.get(n) as tf.Variable)
    const { loss, grads } = tf.tidy(() => {
      const xt = tf.tensor3d(xs, [batch, k, D]) // [B, K, D]
      const yt = tf.tensor2d(ys, [batch, k]) // [B, K]
      const f = (): tf.Scalar => {
        const { preds } = this.model.forward(xt, yt, { training: true }) // [B, K]
        const p = from === 0 ? preds : tf.slice(preds, [0, from], [batch, k - from])
        const y = from === 0 ? yt : tf.slice(yt, [0, from], [batch, k - from])
        const diff = tf.sub(p, y)
        return tf.mean(tf.mul(diff, diff))
      }
      const r = tf.variableGrads(f, varList)
      return { loss: r.value, grads: r.grads }
    })
    const lossValue = loss.dataSync()[0]
    loss.dispose()
    const g = new Map<string, Float32Array>()
    for (let i = 0; i < varNames.length; i++) {
      const t = grads[varList[i].name]
      g.set(varNames[i], t.dataSync() as Float32Array)
    }
    tf.dispose(grads)
    if (!Number.isFinite(lossValue)) throw new DivergedError({ step: this.step, loss: lossValue })
    let scale = 1
    if (this.opts.clipGradNorm !== undefined) {
      const norm = Adam.gradNorm(g)
      if (norm > this.opts.clipGradNorm) scale = this.opts.clipGradNorm / (norm + 1e-6)
    }
    this.adam.step(this.master, g, scale, lr)
    this.writeBack()
    return lossValue
  }

  /** Copy the master weights into the model's variables. */
  private writeBack(): void {
    const copy = !onWasm() // wasm copies tensor data on creation; other backends may keep a reference
    tf.tidy(() => {
      for (const [n, v] of this.vars) {
        const data = this.master.get(n) as Float32Array
        v.assign(tf.tensor(copy ? data.slice() : data, v.shape))
      }
    })
  }

  /** Save the optimizer state (Adam m, v and step count). */
  saveOptimizer(path: string): Promise<void> {
    return this.adam.save(path)
  }

  /** Save weights and optimizer state for an exact resume at the current step. */
  async saveState(weightsPath: string, optimizerPath: string): Promise<void> {
    await this.model.save(weightsPath, { step: String(this.step) })
    await this.adam.save(optimizerPath)
  }

  /** Load weights and optimizer state written by `saveState` (or model.save + saveOptimizer) at `step`. */
  async resume(step: number, weightsPath: string, optimizerPath: string): Promise<void> {
    const meta = await this.model.loadWeights(weightsPath)
    if (meta.step !== undefined && Number(meta.step) !== step) {
      throw new ResumeError({ file: weightsPath, reason: `weights are from step ${meta.step}, resume asked for step ${step}` })
    }
    await this.adam.load(optimizerPath)
    if (this.adam.t !== step) {
      throw new ResumeError({ file: optimizerPath, reason: `optimizer state is at step ${this.adam.t}, resume asked for step ${step}` })
    }
    for (const [n, v] of this.vars) this.master.set(n, v.dataSync().slice() as Float32Array)
  }
}
