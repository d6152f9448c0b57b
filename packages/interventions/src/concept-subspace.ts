/**
 * The concept subspace of a layer: the span of the concept means around their grand mean (at most
 * C - 1 directions), and the patch that moves a row's coordinates in that subspace to a target mean
 * while leaving the orthogonal complement (everything else the row carries: the query input x, the
 * in-context evidence about w) untouched:
 *
 *   a' = a + Q^T Q (mean_target - a)        Q [r, d] an orthonormal basis of the subspace
 *
 * Self-patching then removes only the row's own deviation from its concept's mean inside the subspace,
 * so it is neutral exactly when the model reads the concept there; full replacement (a' = mean_target)
 * also erases the row's input and context, which no prediction at that token survives.
 */

/** Orthonormal basis [r, d] (row-major) of span{means[c] - grand mean}, by modified Gram-Schmidt; directions below `tol` relative norm are dropped. */
export function conceptSubspace(means: Float32Array /* [C, d] */, C: number, d: number, tol = 1e-6): Float64Array {
  const grand = new Float64Array(d)
  for (let c = 0; c < C; c++) for (let j = 0; j < d; j++) grand[j] += means[c * d + j] / C
  const basis: Float64Array[] = []
  let scale = 0
  for (let c = 0; c < C; c++) {
    const v = new Float64Array(d)
    for (let j = 0; j < d; j++) v[j] = means[c * d + j] - grand[j]
    scale = Math.max(scale, Math.hypot(...v))
    for (let pass = 0; pass < 2; pass++)
      for (const q of basis) {
        let dot = 0
        for (let j = 0; j < d; j++) dot += q[j] * v[j]
        for (let j = 0; j < d; j++) v[j] -= dot * q[j]
      }
    const norm = Math.hypot(...v)
    if (norm > tol * Math.max(scale, 1e-30)) basis.push(v.map((x) => x / norm))
  }
  const out = new Float64Array(basis.length * d)
  basis.forEach((q, i) => out.set(q, i * d))
  return out
}

/** Q^T Q (target - a) for one row a [d]: the shift that sets a's subspace coordinates to the target's. */
export function subspaceShift(Q: Float64Array /* [r, d] */, d: number, target: ArrayLike<number>, a: ArrayLike<number>): number[] {
  const r = Q.length / d
  const out = new Array<number>(d).fill(0)
  for (let i = 0; i < r; i++) {
    let dot = 0
    for (let j = 0; j < d; j++) dot += Q[i * d + j] * (target[j] - a[j])
    for (let j = 0; j < d; j++) out[j] += dot * Q[i * d + j]
  }
  return out
}
