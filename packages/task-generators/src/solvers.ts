/**
 * Reference in-context learners for error-vs-K curves. For a sequence (x_0, y_0, ..., x_{K-1},
 * y_{K-1}) a solver predicts every y_k from the first k examples only (k = 0 sees none), which
 * is exactly what the transformer is scored on.
 *
 * - leastSquares: ridge regression over all D coordinates, min ||y - Xw||^2 + ridge ||w||^2
 *   (ridge absolute, not divided by k). As ridge -> 0 this is the minimum-norm least-squares
 *   solution; the default 1e-8 only keeps the Gram matrices invertible and moves predictions
 *   by O(1e-8). Computed in the dual form w = X^T (X X^T + ridge I)^{-1} y when k <= D, primal
 *   (X^T X + ridge I)^{-1} X^T y otherwise. ridge = noiseVariance / weightScale^2 is the Bayes
 *   posterior mean under an (unmasked) N(0, weightScale^2 I) prior.
 * - lasso: scikit-learn's objective (1/(2k)) ||y - Xw||^2 + alpha ||w||_1, no intercept; default
 *   alpha 0.01 (Garg et al. and the study do not state theirs; 0.01 is below the noise level
 *   sigma * sqrt(2 log D / K) ~ 0.05 and keeps the small-k regime close to basis pursuit).
 *   method "homotopy" (default): the exact LARS-lasso path (lasso-homotopy.ts). method "cd":
 *   coordinate descent (lasso.ts) with duality-gap tolerance `tol`, warm-started at each k from
 *   the solution for k - 1. Measured on 1000 study sequences (19000 fits): homotopy 1.7 s and
 *   exact (relative gap <= 1e-15); cd at tol 1e-6 18 s, 27 fits unconverged after 10000 sweeps,
 *   nmse curve within 0.8% of exact; cyclic cd at scikit-learn's tol 1e-4 4 s, curve off by
 *   up to 5% at small k (the small-k designs make coordinate descent crawl).
 * - oracle: knows the basis: leastSquares restricted to the basis's r coordinates; its error is
 *   near the noise level once k is a few examples past r.
 * - zero: predicts 0 (its nmse is ~1 by construction).
 */
import { InvalidRequest } from "./errors.js"
import { lassoFit, type LassoOptions } from "./lasso.js"
import { lassoHomotopy } from "./lasso-homotopy.js"
import { solveSpd } from "./linalg.js"
import { basisSupports } from "./masks.js"
import { assertBasisTask, type RegressionTaskParams } from "./params.js"

export interface Solver {
  readonly name: string
  /** preds[k] = prediction of ys[k] at xs[k] from the examples 0..k-1. */
  predictSequence(
    xs: Float64Array, // [K, D]
    ys: Float64Array, // [K]
    K: number,
    D: number,
    basis: number
  ): Float64Array // [K]
}

const checkNonNegative = (field: string, v: number) => {
  if (!(Number.isFinite(v) && v >= 0)) throw new InvalidRequest({ field, reason: "must be a finite number >= 0", value: v })
}
const checkPositive = (field: string, v: number) => {
  if (!(Number.isFinite(v) && v > 0)) throw new InvalidRequest({ field, reason: "must be a finite number > 0", value: v })
}

/** Ridge / min-norm least squares on k rows of X (row-major [k, p]). */
export function leastSquaresFit(
  X: Float64Array, // [k, p] (at least k*p values; extra rows ignored)
  y: Float64Array, // [k]
  k: number,
  p: number,
  ridge = 1e-8
): Float64Array /* [p] */ {
  const w = new Float64Array(p)
  if (k === 0) return w
  if (k <= p) {
    const G = new Float64Array(k * k) // [k, k] = X X^T + ridge I
    for (let i = 0; i < k; i++)
      for (let j = 0; j <= i; j++) {
        let s = 0
        for (let c = 0; c < p; c++) s += X[i * p + c] * X[j * p + c]
        G[i * k + j] = s
        G[j * k + i] = s
      }
    for (let i = 0; i < k; i++) G[i * k + i] += ridge
    const a = solveSpd(G, k, y.subarray(0, k) as Float64Array) // [k]
    for (let i = 0; i < k; i++) for (let c = 0; c < p; c++) w[c] += X[i * p + c] * a[i]
    return w
  }
  const A = new Float64Array(p * p) // [p, p] = X^T X + ridge I
  const b = new Float64Array(p) // [p] = X^T y
  for (let i = 0; i < k; i++) {
    for (let c = 0; c < p; c++) {
      const xc = X[i * p + c]
      b[c] += xc * y[i]
      for (let d = 0; d <= c; d++) A[c * p + d] += xc * X[i * p + d]
    }
  }
  for (let c = 0; c < p; c++) {
    A[c * p + c] += ridge
    for (let d = 0; d < c; d++) A[d * p + c] = A[c * p + d]
  }
  return solveSpd(A, p, b)
}

const dot = (x: Float64Array, off: number, w: Float64Array, p: number) => {
  let s = 0
  for (let c = 0; c < p; c++) s += x[off + c] * w[c]
  return s
}

/**
 * Predictions of y_k from the first k rows for every k (same solutions as `leastSquaresFit`),
 * sharing work across k: the example Gram X X^T is computed once (dual form, k <= p) and
 * X^T X, X^T y are accumulated row by row (primal form, k > p).
 */
export function leastSquaresPrefixPredictions(
  X: Float64Array, // [K, p]
  y: Float64Array, // [K]
  K: number,
  p: number,
  ridge: number
): Float64Array /* [K] */ {
  const preds = new Float64Array(K)
  const nDual = Math.min(K, p + 1) // rows whose Gram entries the dual form needs (k <= p, query k)
  const E = new Float64Array(nDual * nDual) // [nDual, nDual] = X X^T on the first rows
  for (let i = 0; i < nDual; i++)
    for (let j = 0; j <= i; j++) {
      const v = dot(X, i * p, X.subarray(j * p, (j + 1) * p) as Float64Array, p)
      E[i * nDual + j] = v
      E[j * nDual + i] = v
    }
  const A = new Float64Array(p * p) // [p, p] = X^T X over rows < k
  const b = new Float64Array(p) // [p] = X^T y over rows < k
  for (let k = 1; k < K; k++) {
    const row = k - 1
    for (let c = 0; c < p; c++) {
      const xc = X[row * p + c]
      b[c] += xc * y[row]
      for (let d = 0; d < p; d++) A[c * p + d] += xc * X[row * p + d]
    }
    if (k <= p) {
      const G = new Float64Array(k * k) // [k, k]
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) G[i * k + j] = E[i * nDual + j] + (i === j ? ridge : 0)
      const a = solveSpd(G, k, y.subarray(0, k) as Float64Array) // [k]
      let pred = 0
      for (let i = 0; i < k; i++) pred += a[i] * E[k * nDual + i]
      preds[k] = pred
    } else {
      const Ar = A.slice()
      for (let c = 0; c < p; c++) Ar[c * p + c] += ridge
      preds[k] = dot(X, k * p, solveSpd(Ar, p, b), p)
    }
  }
  return preds
}

export function leastSquares(options: { readonly ridge?: number } = {}): Solver {
  const ridge = options.ridge ?? 1e-8
  checkNonNegative("ridge", ridge)
  return {
    name: ridge === 1e-8 ? "least_squares" : `ridge(${ridge})`,
    predictSequence(xs, ys, K, D) {
      return leastSquaresPrefixPredictions(xs, ys, K, D, ridge)
    }
  }
}

export interface LassoSolverOptions extends LassoOptions {
  /** "homotopy" (default, exact) or "cd" (coordinate descent with the LassoOptions). */
  readonly method?: "homotopy" | "cd"
}

/** A lasso solver with running statistics (sweeps or path knots, unconverged fits), for reports. */
export interface LassoSolver extends Solver {
  readonly stats: { fits: number; sweeps: number; notConverged: number }
}

export function lasso(options: LassoSolverOptions = {}): LassoSolver {
  const { method = "homotopy", ...cdOptions } = options
  const alpha = options.alpha ?? 0.01
  checkNonNegative("alpha", alpha)
  checkPositive("tol", options.tol ?? 1e-6)
  checkPositive("maxSweeps", options.maxSweeps ?? 10_000)
  if (method !== "homotopy" && method !== "cd")
    throw new InvalidRequest({ field: "method", reason: 'must be "homotopy" or "cd"', value: method })
  const stats = { fits: 0, sweeps: 0, notConverged: 0 }
  return {
    name: `lasso(${alpha})`,
    stats,
    predictSequence(xs, ys, K, D) {
      const preds = new Float64Array(K)
      let w: Float64Array = new Float64Array(D) // [D] warm start for cd
      for (let k = 1; k < K; k++) {
        const fit = method === "homotopy" ? lassoHomotopy(xs, ys, k, D, alpha) : lassoFit(xs, ys, k, D, { ...cdOptions, alpha }, w)
        w = fit.w
        stats.fits++
        stats.sweeps += fit.sweeps
        if (!fit.converged) stats.notConverged++
        preds[k] = dot(xs, k * D, w, D)
      }
      return preds
    }
  }
}

/** Least squares on the true basis's coordinates (needs the task parameters for the supports). */
export function oracle(params: RegressionTaskParams, options: { readonly ridge?: number } = {}): Solver {
  const p = assertBasisTask(params, "the basis oracle")
  const ridge = options.ridge ?? 1e-8
  checkNonNegative("ridge", ridge)
  const sup = basisSupports(p) // [nBases, r]
  const r = p.rank
  return {
    name: "oracle",
    predictSequence(xs, ys, K, D, basis) {
      if (D !== p.dim) throw new InvalidRequest({ field: "D", reason: `batch D differs from params.dim = ${p.dim}`, value: D })
      const sub = new Float64Array(K * r) // [K, r]
      for (let k = 0; k < K; k++) for (let t = 0; t < r; t++) sub[k * r + t] = xs[k * D + sup[basis * r + t]]
      return leastSquaresPrefixPredictions(sub, ys, K, r, ridge)
    }
  }
}

export function zero(): Solver {
  return { name: "zero", predictSequence: (_xs, _ys, K) => new Float64Array(K) }
}
