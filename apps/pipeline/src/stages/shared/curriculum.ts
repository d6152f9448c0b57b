import type { RegressionBatch } from "@conceptscope/task-generators"
import type { CurriculumSchema } from "./train-params.js"

/** Active input dimensions at `step` under a curriculum over dimensions (all D without one). */
export function activeDims(curriculum: typeof CurriculumSchema.Type | undefined, D: number, step: number): number {
  if (!curriculum) return D
  return Math.min(D, curriculum.startDims + curriculum.addDims * Math.floor(step / curriculum.everySteps))
}

/**
 * Restrict a linear-task batch to its first `d` input coordinates in place: y_k loses w_j x_kj for every
 * j >= d (so y stays w.x + the same noise, on the truncated x), then those x_kj are zeroed.
 */
export function truncateDims(b: RegressionBatch, d: number): RegressionBatch {
  const { n, K, D } = b
  if (d >= D) return b
  for (let i = 0; i < n; i++)
    for (let k = 0; k < K; k++) {
      const x = (i * K + k) * D
      let drop = 0
      for (let j = d; j < D; j++) {
        drop += b.ws[i * D + j] * b.xs[x + j]
        b.xs[x + j] = 0
      }
      b.ys[i * K + k] = b.ys[i * K + k] - drop
    }
  return b
}
