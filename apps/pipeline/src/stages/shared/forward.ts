import type { RegressionTransformer } from "@conceptscope/model-runners"
import type { RegressionBatch } from "@conceptscope/task-generators"
import * as tf from "@tensorflow/tfjs"

/** The model's predictions of every y of `data`, in batches of `batchSize` sequences: [n, K]. */
export function predictAll(model: RegressionTransformer, data: RegressionBatch, batchSize: number): Float32Array {
  const { K, D } = data
  const out = new Float32Array(data.n * K) // [n, K]
  for (let s = 0; s < data.n; s += batchSize) {
    const B = Math.min(batchSize, data.n - s)
    const p = tf.tidy(
      () => model.forward(tf.tensor3d(data.xs.subarray(s * K * D, (s + B) * K * D), [B, K, D]), tf.tensor2d(data.ys.subarray(s * K, (s + B) * K), [B, K])).preds
    )
    out.set(p.dataSync() as Float32Array, s * K)
    p.dispose()
  }
  return out
}
