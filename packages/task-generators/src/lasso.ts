/**
 * Lasso by coordinate descent on the Gram matrix:
 *     argmin_w (1/(2k)) ||y - X w||^2 + alpha ||w||_1      (scikit-learn's scaling, no intercept)
 *
 * Coordinate rule: "greedy" (default; Gauss-Southwell: each step updates the coordinate whose
 * exact minimisation moves w_j furthest, weighted by sqrt(G_jj)) or "cyclic" (j = 0..p-1 in
 * order, scikit-learn's). A "sweep" is p single-coordinate updates either way. Cyclic descent is
 * very slow on the small-k designs of in-context regression (k = 1: it keeps the first useful
 * coordinate and drains it into the best one geometrically); the greedy rule picks the best
 * coordinate first.
 *
 * Polishing: after each sweep, if the duality gap is not yet small, the current support S and
 * signs s are taken as a guess and the lasso KKT system G_SS w_S = c_S - alpha s is solved
 * exactly; the candidate is kept only if its signs agree and its duality gap passes the test,
 * so the answer is the exact lasso solution once the support has been found.
 *
 * Stopping: duality gap (scikit-learn's criterion, divided by k) <= tol * y.y / k; default tol
 * 1e-6 (scikit-learn's default is 1e-4), at most maxSweeps sweeps (default 10000).
 */
import { trySolveSpd } from "./linalg.js"

export interface LassoOptions {
  /** L1 weight (default 0.01). */
  readonly alpha?: number
  /** Relative duality-gap tolerance (default 1e-6). */
  readonly tol?: number
  /** Sweep limit (default 10000). */
  readonly maxSweeps?: number
  /** Coordinate rule (default "greedy"). */
  readonly rule?: "greedy" | "cyclic"
  /** Try the exact KKT solve on the current support after each sweep (default true). */
  readonly polish?: boolean
}

export interface LassoFit {
  readonly w: Float64Array // [p]
  readonly sweeps: number
  readonly converged: boolean
  /** Final duality gap divided by y.y / k. */
  readonly relativeGap: number
}

/**
 * Duality gap of the objective above, from c = X^T y / k, q = G w = X^T X w / k and
 * yy = y.y / k: with R = y - X w, ||R||^2 / k = yy - 2 w.c + w.q and X^T R / k = c - q; the dual
 * point is R scaled so that ||X^T R / k||_inf <= alpha.
 */
export function lassoDualityGap(
  w: Float64Array, // [p]
  c: Float64Array, // [p]
  q: Float64Array, // [p]
  yy: number,
  alpha: number,
  p: number
): number {
  let wc = 0
  let wq = 0
  let l1 = 0
  let dualNorm = 0
  for (let a = 0; a < p; a++) {
    wc += w[a] * c[a]
    wq += w[a] * q[a]
    l1 += Math.abs(w[a])
    dualNorm = Math.max(dualNorm, Math.abs(c[a] - q[a]))
  }
  const rr = Math.max(yy - 2 * wc + wq, 0) // ||R||^2 / k
  const ry = yy - wc // R.y / k
  const scale = dualNorm > alpha ? alpha / dualNorm : 1
  const gap = 0.5 * rr * (1 + scale * scale) + alpha * l1 - scale * ry
  return Math.max(gap, 0)
}

/** G = X^T X / k, c = X^T y / k, yy = y.y / k. */
export function lassoGram(X: Float64Array /* [k, p] */, y: Float64Array /* [k] */, k: number, p: number) {
  const G = new Float64Array(p * p) // [p, p]
  const c = new Float64Array(p) // [p]
  let yy = 0
  for (let i = 0; i < k; i++) {
    yy += (y[i] * y[i]) / k
    for (let a = 0; a < p; a++) {
      const xa = X[i * p + a]
      c[a] += (xa * y[i]) / k
      for (let b = 0; b < p; b++) G[a * p + b] += (xa * X[i * p + b]) / k
    }
  }
  return { G, c, yy }
}

export const matVec = (G: Float64Array, w: Float64Array, out: Float64Array, p: number) => {
  for (let a = 0; a < p; a++) {
    let s = 0
    for (let b = 0; b < p; b++) s += G[a * p + b] * w[b]
    out[a] = s
  }
}

/** Exact solution on the support and signs of `w`, or null if that guess is inconsistent. */
function polishOnSupport(G: Float64Array, c: Float64Array, w: Float64Array, alpha: number, p: number, k: number) {
  const S: number[] = []
  for (let j = 0; j < p; j++) if (w[j] !== 0) S.push(j)
  const m = S.length
  if (m === 0 || m > k) return null
  const A = new Float64Array(m * m) // [m, m] = G_SS
  const rhs = new Float64Array(m) // [m] = c_S - alpha sign(w_S)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) A[i * m + j] = G[S[i] * p + S[j]]
    rhs[i] = c[S[i]] - alpha * Math.sign(w[S[i]])
  }
  const z = trySolveSpd(A, m, rhs)
  if (z === null) return null
  const out = new Float64Array(p)
  for (let i = 0; i < m; i++) {
    if (Math.sign(z[i]) !== Math.sign(w[S[i]])) return null
    out[S[i]] = z[i]
  }
  return out
}

export function lassoFit(
  X: Float64Array, // [k, p] (at least k*p values; extra rows ignored)
  y: Float64Array, // [k]
  k: number,
  p: number,
  options: LassoOptions = {},
  init?: Float64Array // [p] warm start
): LassoFit {
  const { alpha = 0.01, tol = 1e-6, maxSweeps = 10_000, rule = "greedy", polish = true } = options
  if (k === 0) return { w: new Float64Array(p), sweeps: 0, converged: true, relativeGap: 0 }
  const w = init ? Float64Array.from(init) : new Float64Array(p) // [p]
  const { G, c, yy } = lassoGram(X, y, k, p)
  const q = new Float64Array(p) // [p] = G w
  matVec(G, w, q, p)
  const target = tol * yy
  let gap = lassoDualityGap(w, c, q, yy, alpha, p)
  const rel = (g: number) => (yy > 0 ? g / yy : 0)
  if (gap <= target) return { w, sweeps: 0, converged: true, relativeGap: rel(gap) }

  const proposal = (j: number) => {
    const gjj = G[j * p + j]
    if (!(gjj > 0)) return 0
    const rho = c[j] - q[j] + gjj * w[j]
    return rho > alpha ? (rho - alpha) / gjj : rho < -alpha ? (rho + alpha) / gjj : 0
  }
  const update = (j: number, next: number) => {
    const delta = next - w[j]
    if (delta === 0) return
    w[j] = next
    for (let a = 0; a < p; a++) q[a] += G[a * p + j] * delta
  }
  const qPolished = new Float64Array(p) // [p]
  const rootDiag = new Float64Array(p) // [p] sqrt(G_jj), the greedy rule's weights
  for (let j = 0; j < p; j++) rootDiag[j] = Math.sqrt(G[j * p + j])
  for (let sweep = 1; sweep <= maxSweeps; sweep++) {
    for (let step = 0; step < p; step++) {
      if (rule === "cyclic") {
        update(step, proposal(step))
        continue
      }
      let best = -1
      let bestScore = 0
      let bestNext = 0
      for (let j = 0; j < p; j++) {
        const next = proposal(j)
        const score = Math.abs(next - w[j]) * rootDiag[j]
        if (score > bestScore) {
          best = j
          bestScore = score
          bestNext = next
        }
      }
      if (best < 0) break // every coordinate is already optimal
      update(best, bestNext)
    }
    gap = lassoDualityGap(w, c, q, yy, alpha, p)
    if (gap <= target) return { w, sweeps: sweep, converged: true, relativeGap: rel(gap) }
    if (polish) {
      const cand = polishOnSupport(G, c, w, alpha, p, k)
      if (cand !== null) {
        matVec(G, cand, qPolished, p)
        const candGap = lassoDualityGap(cand, c, qPolished, yy, alpha, p)
        if (candGap <= target) return { w: cand, sweeps: sweep, converged: true, relativeGap: rel(candGap) }
      }
    }
  }
  return { w, sweeps: maxSweeps, converged: false, relativeGap: rel(gap) }
}
