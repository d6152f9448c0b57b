import { basisSupports, type RegressionBatch, type RegressionTaskParams } from "@conceptscope/task-generators"
import type { CurriculumSchema } from "./train-params.js"

type Curriculum = typeof CurriculumSchema.Type

/** Number of active input coordinates at `step` under a curriculum (all D without one). */
export function activeDims(curriculum: Curriculum | undefined, D: number, step: number): number {
  if (!curriculum) return D
  return Math.min(D, curriculum.startDims + curriculum.addDims * Math.floor(step / curriculum.everySteps))
}

/**
 * The order in which a curriculum activates coordinates. "index": 0..D-1. "basis-rank": coordinates
 * sorted by their earliest position within any basis's sorted support (then by index), so the first
 * nBases coordinates give every basis one dimension; coordinates no basis uses come last.
 */
export function coordinateOrder(task: RegressionTaskParams, order: Curriculum["order"]): Int32Array /* [D] */ {
  const D = task.dim
  const idx = Array.from({ length: D }, (_, j) => j)
  if (order === "index") return Int32Array.from(idx)
  const sup = basisSupports(task) // [nBases, rank]
  const rankPos = new Array<number>(D).fill(Number.POSITIVE_INFINITY)
  for (let b = 0; b < task.nBases; b++)
    for (let t = 0; t < task.rank; t++) rankPos[sup[b * task.rank + t]] = Math.min(rankPos[sup[b * task.rank + t]], t)
  return Int32Array.from(idx.sort((u, v) => rankPos[u] - rankPos[v] || u - v))
}

/**
 * Restrict a linear-task batch to the coordinates `order[0..d)` in place: y_k loses w_j x_kj for every
 * inactive j (so y stays w.x + the same noise, on the truncated x), then those x_kj are zeroed.
 */
export function truncateDims(b: RegressionBatch, d: number, order?: Int32Array): RegressionBatch {
  const { n, K, D } = b
  if (d >= D) return b
  const inactive = order ? Array.from(order.subarray(d)) : Array.from({ length: D - d }, (_, t) => d + t)
  for (let i = 0; i < n; i++)
    for (let k = 0; k < K; k++) {
      const x = (i * K + k) * D
      let drop = 0
      for (const j of inactive) {
        drop += b.ws[i * D + j] * b.xs[x + j]
        b.xs[x + j] = 0
      }
      b.ys[i * K + k] = b.ys[i * K + k] - drop
    }
  return b
}
