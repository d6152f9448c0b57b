import { backendDistances, ExactDistance } from "./distances.js"
import { resolveTDOptions, type TDOptions } from "./decodability.js"
import { rankCandidates } from "./neighbours.js"
import { checkLabelled } from "./validate.js"
import { vote } from "./vote.js"

/**
 * Pairwise task decodability: entry (a, b), a != b, is TD computed on the points of classes a and b
 * only (leave-one-out kNN within that subset, k clamped to its size - 1; mean of the two per-class
 * accuracies); the diagonal is 1; entries involving a class without points are NaN. Symmetric.
 *
 * One backend distance matrix serves every pair: per point, the other points are ordered once by
 * float32 distance, each pair walks that order keeping its two classes, and candidates within the
 * float32 slack of the k-th are re-ranked exactly (float64, ties by smaller index), as in taskDecodability.
 */
export function pairwiseTD(
  X: Float32Array, // [n, d] row-major
  labels: Int32Array, // [n], 0..nClasses-1
  nClasses: number,
  opts?: TDOptions
): number[][] {
  const fn = "pairwiseTD"
  const shape = checkLabelled(fn, X, labels, nClasses)
  const { k, metric, blockRows } = resolveTDOptions(fn, opts)
  const { n } = shape
  const size = new Int32Array(nClasses) // [nClasses] points per class
  for (let i = 0; i < n; i++) size[labels[i]] += 1
  const right = new Int32Array(nClasses * nClasses) // [a, b]: points of a right in the (a, b) problem
  const exact = new ExactDistance(X, shape, metric)
  const cache = new Float64Array(n) // [n] exact distances of the current row, NaN = not computed
  const counts = new Int32Array(nClasses)
  const sums = new Float64Array(nClasses)
  const order = new Int32Array(n - 1) // [n - 1] other points by float32 distance
  const nbrIdx = new Int32Array(Math.max(1, Math.min(k, n - 1)))
  const nbrDist = new Float64Array(nbrIdx.length)

  const dist = backendDistances(X, shape, metric, blockRows)
  try {
    for (let r0 = 0; r0 < n; r0 += dist.blockRows) {
      const b = Math.min(dist.blockRows, n - r0)
      const blockTensor = dist.block(r0, b) // [b, n]
      const block = blockTensor.dataSync() as Float32Array
      blockTensor.dispose()
      for (let r = 0; r < b; r++) {
        const i = r0 + r
        const row = block.subarray(r * n, (r + 1) * n) // [n]
        for (let j = 0, t = 0; j < n; j++) if (j !== i) order[t++] = j
        order.sort((p, q) => (row[p] < row[q] ? -1 : row[p] > row[q] ? 1 : p - q))
        cache.fill(NaN)
        const distanceTo = (j: number) => (Number.isNaN(cache[j]) ? (cache[j] = exact.between(i, j)) : cache[j])
        const a = labels[i]
        for (let c = 0; c < nClasses; c++) {
          if (c === a || size[c] === 0) continue
          const kp = Math.min(k, size[a] + size[c] - 1)
          const candidates: number[] = []
          let pos = 0
          while (candidates.length < kp) {
            const j = order[pos++]
            if (labels[j] === a || labels[j] === c) candidates.push(j)
          }
          const threshold = row[candidates[kp - 1]] + dist.tol[i]
          for (; pos < n - 1 && row[order[pos]] <= threshold; pos++) {
            const j = order[pos]
            if (labels[j] === a || labels[j] === c) candidates.push(j)
          }
          rankCandidates(candidates, distanceTo, kp, nbrIdx, nbrDist, 0)
          if (vote(labels, nbrIdx, nbrDist, 0, kp, counts, sums) === a) right[a * nClasses + c] += 1
        }
      }
    }
  } finally {
    dist.dispose()
  }

  const out: number[][] = []
  for (let a = 0; a < nClasses; a++) {
    const line: number[] = []
    for (let c = 0; c < nClasses; c++) {
      if (size[a] === 0 || size[c] === 0) line.push(NaN)
      else if (a === c) line.push(1)
      else line.push((right[a * nClasses + c] / size[a] + right[c * nClasses + a] / size[c]) / 2)
    }
    out.push(line)
  }
  return out
}
