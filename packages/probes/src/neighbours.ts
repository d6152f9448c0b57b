import * as tf from "@tensorflow/tfjs"
import { backendDistances, ExactDistance, type Metric } from "./distances.js"
import type { Shape } from "./validate.js"

/**
 * The k nearest OTHER points of every point, by exact float64 distance (see ExactDistance), ties at
 * equal distance broken by the smaller index. A point is never its own neighbour, even when another
 * point sits at distance 0.
 */
export interface Neighbours {
  readonly n: number
  readonly k: number
  readonly indices: Int32Array // [n, k], nearest first
  readonly distances: Float64Array // [n, k]
}

/** Sort candidate indices by (exact distance, index) and write the first k into out at offset. */
export function rankCandidates(
  candidates: number[],
  distanceTo: (j: number) => number,
  k: number,
  outIdx: Int32Array,
  outDist: Float64Array,
  offset: number
): void {
  const scored = candidates.map((j) => ({ j, dist: distanceTo(j) }))
  scored.sort((p, q) => p.dist - q.dist || p.j - q.j)
  for (let t = 0; t < k; t++) {
    outIdx[offset + t] = scored[t].j
    outDist[offset + t] = scored[t].dist
  }
}

/**
 * Leave-one-out neighbours. The tensor backend computes float32 distances by row blocks and proposes
 * the top candidates per row with tf.topk on the negated distances (self at +Inf); every candidate
 * within the float32 error slack of the k-th is then re-ranked exactly in float64, so the result does
 * not depend on the backend's rounding or on how tf.topk orders ties. When the slack reaches past the
 * proposed candidates (many near-equal distances, or float32 overflow), the row falls back to a scan of its whole block row.
 * k is clamped to n - 1.
 */
export function nearestOthers(
  X: Float32Array, // [n, d]
  shape: Shape,
  k: number,
  metric: Metric,
  blockRows?: number
): Neighbours {
  const { n } = shape
  const kk = Math.min(k, n - 1)
  const proposals = Math.min(n - 1, 2 * kk + 8)
  const exact = new ExactDistance(X, shape, metric)
  const indices = new Int32Array(n * kk)
  const distances = new Float64Array(n * kk)
  const dist = backendDistances(X, shape, metric, blockRows)
  try {
    for (let r0 = 0; r0 < n; r0 += dist.blockRows) {
      const b = Math.min(dist.blockRows, n - r0)
      const block = dist.block(r0, b) // [b, n]
      let blockValues: Float32Array | null = null // [b, n], downloaded only on fallback
      try {
        const top = tf.tidy(() => {
          const t = tf.topk(tf.neg(block), proposals, true)
          return { values: t.values.dataSync() as Float32Array, indices: t.indices.dataSync() as Int32Array } // [b, proposals]
        })
        for (let r = 0; r < b; r++) {
          const i = r0 + r
          const base = r * proposals
          const threshold = -top.values[base + kk - 1] + dist.tol[i]
          const candidates: number[] = []
          if (Number.isFinite(threshold) && (proposals === n - 1 || -top.values[base + proposals - 1] > threshold)) {
            for (let t = 0; t < proposals; t++) {
              if (-top.values[base + t] <= threshold && top.indices[base + t] !== i) candidates.push(top.indices[base + t])
            }
          } else {
            blockValues ??= block.dataSync() as Float32Array
            for (let j = 0; j < n; j++) if (j !== i && blockValues[r * n + j] <= threshold) candidates.push(j)
          }
          rankCandidates(candidates, (j) => exact.between(i, j), kk, indices, distances, i * kk)
        }
      } finally {
        block.dispose()
      }
    }
  } finally {
    dist.dispose()
  }
  return { n, k: kk, indices, distances }
}
