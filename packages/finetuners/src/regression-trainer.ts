import * as tf from "@tensorflow/tfjs"
import { onWasm, type RegressionTransformer } from "@conceptscope/model-runners"
import type { Adam, AdamOptions } from "./adam.js"
import { ParamUpdater } from "./param-updater.js"
import { DivergedError, ResumeError, TrainingConfigError } from "./errors.js"

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
  /**
   * Rows per forward/backward pass; the batch's gradients are accumulated over these chunks (weighted by
   * their share of the batch, so the update equals the whole-batch one up to float rounding).
   * "auto" (default): on wasm, as many rows as keep the estimated autograd memory under 1.6 GB (the wasm32
   * heap holds at most 4 GB); elsewhere the whole batch.
   */
  readonly microBatch?: number | "auto"
}

/** Rough peak autograd memory per sequence on tfjs (measured: about 80 floats per d_model unit, row and layer). */
export function estimateBytesPerSequence(model: RegressionTransformer, numExamples: number): number {
  const c = model.config
  return 4 * 90 * c.dModel * (2 * numExamples) * c.nLayers
}

export function resolveMicroBatch(model: RegressionTransformer, batch: number, numExamples: number, mb: number | "auto" = "auto"): number {
  if (mb !== "auto") {
    if (!Number.isInteger(mb) || mb < 1) throw new TrainingConfigError({ field: "microBatch", reason: `${mb}` })
    return Math.min(mb, batch)
  }
  if (!onWasm()) return batch
  const fit = Math.max(1, Math.floor(1.6e9 / estimateBytesPerSequence(model, numExamples)))
  const chunks = Math.ceil(batch / fit)
  return Math.ceil(batch / chunks)
}

export class RegressionTrainer {
  private readonly vars: Map<string, tf.Variable>
  private readonly updater: ParamUpdater

  constructor(
    readonly model: RegressionTransformer,
    readonly opts: TrainerOptions
  ) {
    this.vars = model.parameters()
    this.updater = new ParamUpdater(this.vars, opts.adam, opts.clipGradNorm)
  }

  get adam(): Adam {
    return this.updater.adam
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
    const mb = resolveMicroBatch(this.model, batch, k, this.opts.microBatch)
    let lossValue = 0
    let g: Map<string, Float32Array> | null = null
    for (let start = 0; start < batch; start += mb) {
      const n = Math.min(mb, batch - start)
      const { loss, grads } = tf.tidy(() => {
        const xt = tf.tensor3d(xs.subarray(start * k * D, (start + n) * k * D), [n, k, D]) // [n, K, D]
        const yt = tf.tensor2d(ys.subarray(start * k, (start + n) * k), [n, k]) // [n, K]
        const f = (): tf.Scalar => {
          const { preds } = this.model.forward(xt, yt, { training: true }) // [n, K]
          const p = from === 0 ? preds : tf.slice(preds, [0, from], [n, k - from])
          const y = from === 0 ? yt : tf.slice(yt, [0, from], [n, k - from])
          const diff = tf.sub(p, y)
          return tf.mean(tf.mul(diff, diff))
        }
        const r = tf.variableGrads(f, varList)
        return { loss: r.value, grads: r.grads }
      })
      const w = n / batch // this chunk's share of the batch mean
      lossValue += w * loss.dataSync()[0]
      loss.dispose()
      if (g === null) {
        g = new Map()
        for (let i = 0; i < varNames.length; i++) {
          const t = grads[varList[i].name].dataSync() as Float32Array
          if (w !== 1) for (let j = 0; j < t.length; j++) t[j] *= w
          g.set(varNames[i], t)
        }
      } else {
        for (let i = 0; i < varNames.length; i++) {
          const t = grads[varList[i].name].dataSync()
          const acc = g.get(varNames[i]) as Float32Array
          for (let j = 0; j < t.length; j++) acc[j] += w * t[j]
        }
      }
      tf.dispose(grads)
    }
    if (g === null) throw new TrainingConfigError({ field: "batch", reason: "empty batch" })
    if (!Number.isFinite(lossValue)) throw new DivergedError({ step: this.step, loss: lossValue })
    this.updater.apply(g, lr)
    return lossValue
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
    this.updater.reloadMaster()
  }
}
