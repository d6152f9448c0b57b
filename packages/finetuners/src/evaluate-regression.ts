import * as tf from "@tensorflow/tfjs"
import type { RegressionTransformer } from "@conceptscope/model-runners"
import { TrainingConfigError } from "./errors.js"

/**
 * Test error of the regression transformer on held-out sequences, split by latent basis and by example
 * index. The normalised MSE divides each squared error sum by the sum of y^2 over the same rows (the
 * error of always predicting 0), per basis / per index / per cell, so predicting 0 scores exactly 1 and
 * numbers are comparable across noise levels and dimensions (Garg et al. normalise by D instead; with
 * x ~ N(0, I), w ~ N(0, I) on r coordinates, E[y^2] = r + noise).
 */
export interface RegressionEvalSet {
  readonly xs: Float32Array // [N, K, D]
  readonly ys: Float32Array // [N, K]
  readonly basis: ArrayLike<number> // [N], values 0..nBases-1
  readonly nBases: number
}

export interface RegressionEvalResult {
  readonly n: number
  readonly numExamples: number
  /** Rows per basis. */
  readonly counts: number[]
  readonly mse: number
  readonly perBasis: number[] // [nBases]
  readonly perIndex: number[] // [K]
  readonly perBasisIndex: number[][] // [nBases][K]
  readonly nmse: number
  readonly nmsePerBasis: number[]
  readonly nmsePerIndex: number[]
  readonly nmsePerBasisIndex: number[][]
}

export function evaluateRegression(
  model: RegressionTransformer,
  set: RegressionEvalSet,
  batchSize = 256
): RegressionEvalResult {
  const N = set.basis.length
  const D = model.config.xDim
  const K = N > 0 ? set.ys.length / N : 0
  if (N === 0 || !Number.isInteger(K) || set.xs.length !== N * K * D) {
    throw new TrainingConfigError({
      field: "evalSet",
      reason: `basis has ${N} rows, ys ${set.ys.length} and xs ${set.xs.length} values (D = ${D})`
    })
  }
  const nb = set.nBases
  const se = new Float64Array(nb * K) // [nBases, K] squared-error sums
  const y2 = new Float64Array(nb * K) // [nBases, K] sums of y^2
  const counts = new Array<number>(nb).fill(0)
  for (let i = 0; i < N; i++) {
    const b = set.basis[i]
    if (!Number.isInteger(b) || b < 0 || b >= nb) {
      throw new TrainingConfigError({ field: "evalSet.basis", reason: `row ${i} has basis ${b}, expected 0..${nb - 1}` })
    }
    counts[b]++
  }
  for (let start = 0; start < N; start += batchSize) {
    const B = Math.min(batchSize, N - start)
    const xs = set.xs.subarray(start * K * D, (start + B) * K * D)
    const ys = set.ys.subarray(start * K, (start + B) * K)
    const preds = tf.tidy(() => model.forward(tf.tensor3d(xs, [B, K, D]), tf.tensor2d(ys, [B, K])).preds)
    const p = preds.dataSync() // [B, K]
    preds.dispose()
    for (let r = 0; r < B; r++) {
      const b = set.basis[start + r]
      for (let k = 0; k < K; k++) {
        const y = ys[r * K + k]
        const e = p[r * K + k] - y
        se[b * K + k] += e * e
        y2[b * K + k] += y * y
      }
    }
  }
  const sum = (a: Float64Array, pick: (b: number, k: number) => boolean) => {
    let s = 0
    for (let b = 0; b < nb; b++) for (let k = 0; k < K; k++) if (pick(b, k)) s += a[b * K + k]
    return s
  }
  const all = () => true
  const perBasis = counts.map((c, b) => sum(se, (bb) => bb === b) / (c * K))
  const perIndex = Array.from({ length: K }, (_, k) => sum(se, (_, kk) => kk === k) / N)
  const perBasisIndex = counts.map((c, b) => Array.from({ length: K }, (_, k) => se[b * K + k] / c))
  return {
    n: N,
    numExamples: K,
    counts,
    mse: sum(se, all) / (N * K),
    perBasis,
    perIndex,
    perBasisIndex,
    nmse: sum(se, all) / sum(y2, all),
    nmsePerBasis: counts.map((_, b) => sum(se, (bb) => bb === b) / sum(y2, (bb) => bb === b)),
    nmsePerIndex: Array.from({ length: K }, (_, k) => sum(se, (_, kk) => kk === k) / sum(y2, (_, kk) => kk === k)),
    nmsePerBasisIndex: counts.map((_, b) => Array.from({ length: K }, (_, k) => se[b * K + k] / y2[b * K + k]))
  }
}
