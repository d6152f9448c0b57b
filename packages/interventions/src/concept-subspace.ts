/**
 * The concept subspace of a layer and the patch that moves a row's coordinates in it to a target mean
 * while leaving the orthogonal complement (everything else the row carries: the query input x, the
 * in-context evidence about w) untouched:
 *
 *   a' = a + Q^T Q (mean_target - a)        Q [r, d] an orthonormal basis of the subspace
 *
 * The subspace is the discriminant one when the within-concept covariance S is known: the span of
 * (S + shrinkage)^-1 (mean_c - grand mean), the Fisher directions, along which concepts differ most
 * relative to how rows of one concept vary; otherwise the span of the centred means themselves (at most
 * C - 1 directions either way). Self-patching removes only the row's own deviation inside the subspace,
 * small along Fisher directions, so it is near neutral when the model reads the concept there; full
 * replacement (a' = mean_target) also erases the row's input and context, which no prediction at that
 * token survives.
 */

/** Within-concept covariance [d, d] of rows [n, d] with labels in 0..C-1 (pooled over concepts). */
export function withinConceptCovariance(vectors: Float32Array, labels: Int32Array, means: Float32Array /* [C, d] */, d: number): Float64Array {
  const n = labels.length
  const S = new Float64Array(d * d)
  const r = new Float64Array(d)
  for (let i = 0; i < n; i++) {
    const c = labels[i]
    for (let j = 0; j < d; j++) r[j] = vectors[i * d + j] - means[c * d + j]
    for (let a = 0; a < d; a++) {
      const ra = r[a]
      if (ra === 0) continue
      for (let b = 0; b <= a; b++) S[a * d + b] += ra * r[b]
    }
  }
  for (let a = 0; a < d; a++)
    for (let b = 0; b <= a; b++) {
      S[a * d + b] /= Math.max(1, n - 1)
      S[b * d + a] = S[a * d + b]
    }
  return S
}

/** Solve (S + lambda I) x = v for SPD S by Cholesky (S is copied). */
function solveShrunk(S: Float64Array, d: number, lambda: number, v: Float64Array): Float64Array {
  const L = Float64Array.from(S)
  for (let i = 0; i < d; i++) L[i * d + i] += lambda
  for (let j = 0; j < d; j++) {
    let s = L[j * d + j]
    for (let k = 0; k < j; k++) s -= L[j * d + k] ** 2
    L[j * d + j] = Math.sqrt(Math.max(s, 1e-300))
    for (let i = j + 1; i < d; i++) {
      let t = L[i * d + j]
      for (let k = 0; k < j; k++) t -= L[i * d + k] * L[j * d + k]
      L[i * d + j] = t / L[j * d + j]
    }
  }
  const x = Float64Array.from(v)
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < i; k++) x[i] -= L[i * d + k] * x[k]
    x[i] /= L[i * d + i]
  }
  for (let i = d - 1; i >= 0; i--) {
    for (let k = i + 1; k < d; k++) x[i] -= L[k * d + i] * x[k]
    x[i] /= L[i * d + i]
  }
  return x
}

/**
 * Orthonormal basis [r, d] (row-major) of span{W (means[c] - grand mean)}, W = (within + shrinkage *
 * mean variance * I)^-1 when the within-concept covariance is given, else I; by modified Gram-Schmidt,
 * dropping directions below `tol` relative norm.
 */
export function conceptSubspace(
  means: Float32Array /* [C, d] */,
  C: number,
  d: number,
  opts: { readonly within?: Float64Array /* [d, d] */; readonly shrinkage?: number; readonly tol?: number } = {}
): Float64Array {
  const tol = opts.tol ?? 1e-6
  const grand = new Float64Array(d)
  for (let c = 0; c < C; c++) for (let j = 0; j < d; j++) grand[j] += means[c * d + j] / C
  let trace = 0
  if (opts.within) for (let j = 0; j < d; j++) trace += opts.within[j * d + j]
  const lambda = (opts.shrinkage ?? 0.05) * Math.max(trace / d, 1e-12)
  const basis: Float64Array[] = []
  let scale = 0
  for (let c = 0; c < C; c++) {
    let v = new Float64Array(d)
    for (let j = 0; j < d; j++) v[j] = means[c * d + j] - grand[j]
    if (opts.within) v = Float64Array.from(solveShrunk(opts.within, d, lambda, v))
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
