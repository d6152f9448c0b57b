/**
 * Mean activation per concept: the "task vector" of a concept at one hook and position.
 *
 * vectors: Float32Array [n, d] row-major, labels: Int32Array [n] in 0..nConcepts-1.
 * Returns Float32Array [nConcepts, d]; a concept with no rows gets NaN so that using it is loud.
 */
export function conceptMeans(vectors: Float32Array, labels: Int32Array, nConcepts: number, d: number): Float32Array {
  const n = labels.length
  if (vectors.length !== n * d) throw new Error(`conceptMeans: vectors has ${vectors.length} values, expected n*d = ${n * d}`)
  const sums = new Float64Array(nConcepts * d) // [nConcepts, d]
  const counts = new Float64Array(nConcepts)
  for (let i = 0; i < n; i++) {
    const c = labels[i]
    if (c < 0 || c >= nConcepts) throw new Error(`conceptMeans: label ${c} of row ${i} outside 0..${nConcepts - 1}`)
    counts[c]++
    const off = i * d
    const coff = c * d
    for (let j = 0; j < d; j++) sums[coff + j] += vectors[off + j]
  }
  const out = new Float32Array(nConcepts * d)
  for (let c = 0; c < nConcepts; c++) for (let j = 0; j < d; j++) out[c * d + j] = counts[c] > 0 ? sums[c * d + j] / counts[c] : NaN
  return out
}

/** Row `c` of a [rows, d] matrix as a plain number array (the form Intervention vectors take). */
export const row = (m: Float32Array, c: number, d: number): number[] => Array.from(m.subarray(c * d, (c + 1) * d))
