import * as tf from "@tensorflow/tfjs"
import type { Shape } from "./validate.js"

export type Metric = "euclidean" | "cosine"

/**
 * Relative bound c on |backend float32 distance - exact float64 distance|, in units of
 * (|x_i|^2 + max_j |x_j|^2) of the backend rows (centred for euclidean, unit for cosine).
 * Typical float32 dot-product error is ~sqrt(d) * 2^-24 (4e-6 at d = 4096); c is 25x that.
 * It only widens the candidate sets that are re-ranked exactly, so a larger c costs time, never results.
 */
export const CANDIDATE_TOLERANCE = 1e-4

/**
 * The exact distance every result refers to, in float64 over the float32 inputs, summed over the
 * feature index in order:
 *   euclidean  sqrt(sum_m (x_im - x_jm)^2)
 *   cosine     1 - (sum_m x_im x_jm) / (|x_i| |x_j|), |x| = sqrt(sum_m x_m^2); 1 when a norm is 0
 */
export class ExactDistance {
  private readonly norms: Float64Array | null // [n] (cosine only)

  constructor(
    readonly X: Float32Array, // [n, d]
    readonly shape: Shape,
    readonly metric: Metric
  ) {
    if (metric === "cosine") {
      const { n, d } = shape
      const norms = new Float64Array(n)
      for (let i = 0; i < n; i++) norms[i] = Math.sqrt(dotProduct(X, i * d, i * d, d))
      this.norms = norms
    } else this.norms = null
  }

  between(i: number, j: number): number {
    const { X } = this
    const d = this.shape.d
    const a = i * d
    const b = j * d
    if (this.norms === null) {
      return Math.sqrt(sumSquaredDiff(X, a, b, d))
    }
    const na = this.norms[i]
    const nb = this.norms[j]
    if (na === 0 || nb === 0) return 1
    return 1 - dotProduct(X, a, b, d) / (na * nb)
  }
}

/** sum_m (X[a+m] - X[b+m])^2 accumulated strictly in order m = 0..d-1 (unrolled by 4 for speed only). */
function sumSquaredDiff(X: Float32Array, a: number, b: number, d: number): number {
  let s = 0
  let m = 0
  for (; m + 4 <= d; m += 4) {
    const t0 = X[a + m] - X[b + m]
    const t1 = X[a + m + 1] - X[b + m + 1]
    const t2 = X[a + m + 2] - X[b + m + 2]
    const t3 = X[a + m + 3] - X[b + m + 3]
    s += t0 * t0
    s += t1 * t1
    s += t2 * t2
    s += t3 * t3
  }
  for (; m < d; m++) {
    const t = X[a + m] - X[b + m]
    s += t * t
  }
  return s
}

/** sum_m X[a+m] X[b+m] accumulated strictly in order m = 0..d-1. */
function dotProduct(X: Float32Array, a: number, b: number, d: number): number {
  let s = 0
  let m = 0
  for (; m + 4 <= d; m += 4) {
    s += X[a + m] * X[b + m]
    s += X[a + m + 1] * X[b + m + 1]
    s += X[a + m + 2] * X[b + m + 2]
    s += X[a + m + 3] * X[b + m + 3]
  }
  for (; m < d; m++) s += X[a + m] * X[b + m]
  return s
}

/**
 * Float32 distances on the tensor backend, by row blocks, used only to propose neighbour candidates.
 * euclidean: squared distances |x_i|^2 + |x_j|^2 - 2 x_i.x_j of the rows centred on their float64 column
 * mean (keeps cancellation small when all points share a large offset); cosine: 1 - u_i.u_j of unit rows
 * (zero rows stay zero, at distance 1 from everything).
 */
export interface BackendDistances {
  readonly n: number
  /** Rows per block: given, or chosen so that a [rows, n] block stays under 2^24 floats. */
  readonly blockRows: number
  /** Additive slack per row: j may be a true neighbour of i only if D[i, j] <= kth(D[i, :]) + tol[i]. */
  readonly tol: Float64Array // [n]
  /** Distances of rows r0..r0+b-1 to all rows, self distance set to +Inf. Caller disposes. */
  block(r0: number, b: number): tf.Tensor2D // [b, n]
  dispose(): void
}

export function backendDistances(
  X: Float32Array, // [n, d]
  shape: Shape,
  metric: Metric,
  blockRows?: number
): BackendDistances {
  const { n, d } = shape
  const [all, sqT] = tf.tidy(() => {
    const x = tf.tensor2d(X, [n, d]) // [n, d]
    let rows: tf.Tensor2D // [n, d] centred (euclidean) or unit (cosine) rows
    if (metric === "euclidean") {
      const mean = new Float64Array(d) // [d]
      for (let i = 0; i < n; i++) for (let m = 0, o = i * d; m < d; m++) mean[m] += X[o + m]
      for (let m = 0; m < d; m++) mean[m] /= n
      rows = tf.sub(x, tf.tensor2d(Float32Array.from(mean), [1, d]))
    } else {
      const norm = tf.sqrt(tf.sum(tf.square(x), 1, true)) // [n, 1]
      rows = tf.mul(x, tf.where(tf.greater(norm, 0), tf.reciprocal(tf.maximum(norm, 1e-30)), tf.zerosLike(norm)))
    }
    return [rows, tf.sum(tf.square(rows), 1)] as [tf.Tensor2D, tf.Tensor1D] // [n, d], [n]
  })
  const sq = sqT.dataSync() // [n] squared norms of the backend rows
  let sqMax = 0
  for (let i = 0; i < n; i++) sqMax = Math.max(sqMax, sq[i])
  const tol = new Float64Array(n) // [n]
  for (let i = 0; i < n; i++) tol[i] = 2 * CANDIDATE_TOLERANCE * (sq[i] + sqMax) + 1e-30
  const allT = tf.transpose(all) as tf.Tensor2D // [d, n]; explicit: transposed matMul is slow on wasm
  const rowsPerBlock = Math.max(1, Math.min(n, blockRows ?? Math.floor(2 ** 24 / n)))

  return {
    n,
    blockRows: rowsPerBlock,
    tol,
    block(r0, b) {
      return tf.tidy(() => {
        const xb = tf.slice(all, [r0, 0], [b, d]) // [b, d]
        const g = tf.matMul(xb, allT) // [b, n]
        const dist =
          metric === "euclidean"
            ? tf.sub(tf.add(tf.reshape(tf.slice(sqT, [r0], [b]), [b, 1]), tf.reshape(sqT, [1, n])), tf.mul(g, 2)) // [b, n]
            : tf.sub(1, g) // [b, n]
        const self = tf.cast(tf.oneHot(tf.range(r0, r0 + b, 1, "int32"), n), "bool") // [b, n]
        return tf.where(self, tf.fill([b, n], Infinity), dist) as tf.Tensor2D
      })
    },
    dispose() {
      all.dispose()
      allT.dispose()
      sqT.dispose()
    }
  }
}
