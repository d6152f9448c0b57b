/**
 * Majority vote of k neighbours, deterministic tie rule:
 *   1. the class with the most votes;
 *   2. among tied classes, the smallest summed distance over its voters (summed nearest first);
 *   3. if still tied, the smallest label.
 * `counts` and `sums` are scratch buffers of length nClasses (overwritten).
 */
export function vote(
  labels: Int32Array, // [n]
  nbrIdx: Int32Array, // [.., k] neighbour indices, nearest first
  nbrDist: Float64Array, // [.., k]
  offset: number,
  k: number,
  counts: Int32Array, // [nClasses]
  sums: Float64Array // [nClasses]
): number {
  counts.fill(0)
  sums.fill(0)
  for (let t = 0; t < k; t++) {
    const c = labels[nbrIdx[offset + t]]
    counts[c] += 1
    sums[c] += nbrDist[offset + t]
  }
  let best = -1
  for (let c = 0; c < counts.length; c++) {
    if (counts[c] === 0) continue
    if (best < 0 || counts[c] > counts[best] || (counts[c] === counts[best] && sums[c] < sums[best])) best = c
  }
  return best
}
