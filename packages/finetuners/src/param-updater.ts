import * as tf from "@tensorflow/tfjs"
import { onWasm } from "@conceptscope/model-runners"
import { Adam, type AdamOptions } from "./adam.js"
import { TrainingConfigError } from "./errors.js"

/**
 * The update half of a trainer: Adam in JS over a float32 master copy of the weights (equal to the
 * variables' contents, so saving and resuming are exact), optional global-norm clipping, and the new
 * weights written back to the tf.Variables.
 */
export class ParamUpdater {
  readonly adam: Adam
  readonly master = new Map<string, Float32Array>()

  constructor(
    readonly vars: ReadonlyMap<string, tf.Variable>,
    adam: AdamOptions,
    /** Clip the global L2 norm of the gradients to this value (PyTorch clip_grad_norm_); none when undefined. */
    readonly clipGradNorm?: number
  ) {
    const shapes = new Map<string, number[]>()
    for (const [n, v] of vars) shapes.set(n, v.shape)
    this.adam = new Adam(adam, shapes)
    this.reloadMaster()
    if (clipGradNorm !== undefined && !(clipGradNorm > 0)) throw new TrainingConfigError({ field: "clipGradNorm", reason: `must be > 0, got ${clipGradNorm}` })
  }

  /** Re-read the master copy from the variables (after loading weights into them). */
  reloadMaster(): void {
    for (const [n, v] of this.vars) this.master.set(n, v.dataSync().slice() as Float32Array)
  }

  /** One Adam step with these gradients (clipped), then the variables updated. */
  apply(grads: ReadonlyMap<string, Float32Array>, lr?: number): void {
    let scale = 1
    if (this.clipGradNorm !== undefined) {
      const norm = Adam.gradNorm(grads)
      if (norm > this.clipGradNorm) scale = this.clipGradNorm / (norm + 1e-6)
    }
    this.adam.step(this.master, grads, scale, lr)
    const copy = !onWasm() // wasm copies tensor data on creation; other backends may keep a reference
    tf.tidy(() => {
      for (const [n, v] of this.vars) {
        const data = this.master.get(n) as Float32Array
        v.assign(tf.tensor(copy ? data.slice() : data, v.shape))
      }
    })
  }
}
