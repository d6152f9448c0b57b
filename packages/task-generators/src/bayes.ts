/**
 * Bayes-optimal reference learners: what the best possible predictor of y_k from the first k examples
 * achieves under the task's own prior, the reference a trained model's error should be judged against.
 *
 * - bayesOracle: knows the basis; the posterior mean of w under the true Gaussian prior on the basis's
 *   r coordinates (w_j ~ N(0, weightScale^2), noise N(0, noiseVariance)): ridge regression with
 *   ridge = noiseVariance / weightScale^2. Unlike minimum-norm least squares it has no error spike at
 *   k = r (where the r x r design is least well conditioned).
 * - bayesOptimal: does not know the basis. With a finite pool ({ kind: "pool" }) the prior is uniform
 *   over the nBases x M pool vectors, and the prediction is the posterior-weighted mean of w.x_k with
 *   weights proportional to exp(-sum_i (y_i - w.x_i)^2 / (2 noiseVariance)). With fresh w the prior is
 *   a uniform mixture over bases of the Gaussian prior on each basis's coordinates: the prediction is
 *   the bayesOracle prediction of each basis, weighted by that basis's marginal likelihood
 *   N(y | 0, weightScale^2 X_b X_b^T + noiseVariance I).
 * A noise variance of 0 is treated as 1e-12 (the posterior then picks the consistent hypotheses).
 */
import { choleskyInPlace, choleskySolveInPlace } from "./linalg.js"
import { basisSupports } from "./masks.js"
import { assertBasisTask, type RegressionTaskParams } from "./params.js"
import { weightPool } from "./sampling.js"
import { leastSquaresPrefixPredictions, type Solver } from "./solvers.js"

const MIN_NOISE = 1e-12

/** Rows `k` of xs [K, D] restricted to the support `sup` (r coordinates): [K, r]. */
function restrict(xs: Float64Array, K: number, D: number, sup: Int32Array, r: number, basis: number): Float64Array {
  const sub = new Float64Array(K * r) // [K, r]
  for (let k = 0; k < K; k++) for (let t = 0; t < r; t++) sub[k * r + t] = xs[k * D + sup[basis * r + t]]
  return sub
}

export function bayesOracle(params: RegressionTaskParams): Solver {
  const p = assertBasisTask(params, "the Bayes oracle")
  const sup = basisSupports(p) // [nBases, r]
  const ridge = Math.max(p.noiseVariance, MIN_NOISE) / p.weightScale ** 2
  return {
    name: "bayes oracle",
    predictSequence: (xs, ys, K, D, basis) => leastSquaresPrefixPredictions(restrict(xs, K, D, sup, p.rank, basis), ys, K, p.rank, ridge)
  }
}

/** log N(y | 0, s2 X X^T + n2 I) for the first k rows of X [K, r], and the predictive mean of y_k. */
function gaussianEvidence(X: Float64Array, y: Float64Array, k: number, r: number, s2: number, n2: number): { logEvidence: number; mean: number } {
  if (k === 0) return { logEvidence: 0, mean: 0 }
  const C = new Float64Array(k * k) // [k, k] = s2 X X^T + n2 I
  const c = new Float64Array(k) // [k] = s2 X x_k (covariance of the observed ys with y_k)
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let v = 0
      for (let t = 0; t < r; t++) v += X[i * r + t] * X[j * r + t]
      C[i * k + j] = C[j * k + i] = s2 * v + (i === j ? n2 : 0)
    }
    let v = 0
    for (let t = 0; t < r; t++) v += X[i * r + t] * X[k * r + t]
    c[i] = s2 * v
  }
  choleskyInPlace(C, k) // C is SPD: n2 > 0
  let logDet = 0
  for (let i = 0; i < k; i++) logDet += 2 * Math.log(C[i * k + i])
  const a = y.slice(0, k)
  choleskySolveInPlace(C, k, a) // a = C^-1 y
  let quad = 0
  let mean = 0
  for (let i = 0; i < k; i++) {
    quad += y[i] * a[i]
    mean += c[i] * a[i]
  }
  return { logEvidence: -0.5 * (quad + logDet + k * Math.log(2 * Math.PI)), mean }
}

export function bayesOptimal(params: RegressionTaskParams): Solver {
  const p = assertBasisTask(params, "the Bayes-optimal predictor")
  const n2 = Math.max(p.noiseVariance, MIN_NOISE)
  const pool = weightPool(p) // [nBases, M, D] or null
  if (pool) {
    const V = pool.length / p.dim // hypotheses
    return {
      name: "bayes optimal (pool)",
      predictSequence(xs, ys, K, D) {
        const preds = new Float64Array(K)
        const logL = new Float64Array(V) // running log-likelihood of each pool vector
        const fit = new Float64Array(V) // w_v . x_k
        for (let k = 0; k < K; k++) {
          for (let v = 0; v < V; v++) {
            let s = 0
            for (let j = 0; j < D; j++) s += pool[v * D + j] * xs[k * D + j]
            fit[v] = s
          }
          let max = -Infinity
          for (let v = 0; v < V; v++) max = Math.max(max, logL[v])
          let z = 0
          let pred = 0
          for (let v = 0; v < V; v++) {
            const w = Math.exp(logL[v] - max)
            z += w
            pred += w * fit[v]
          }
          preds[k] = pred / z
          for (let v = 0; v < V; v++) logL[v] -= (ys[k] - fit[v]) ** 2 / (2 * n2)
        }
        return preds
      }
    }
  }
  const sup = basisSupports(p)
  const s2 = p.weightScale ** 2
  return {
    name: "bayes optimal (basis mixture)",
    predictSequence(xs, ys, K, D) {
      const preds = new Float64Array(K)
      const subs = Array.from({ length: p.nBases }, (_, b) => restrict(xs, K, D, sup, p.rank, b))
      for (let k = 0; k < K; k++) {
        const e = subs.map((X) => gaussianEvidence(X, ys, k, p.rank, s2, n2))
        const max = Math.max(...e.map((x) => x.logEvidence))
        let z = 0
        let pred = 0
        for (const x of e) {
          const w = Math.exp(x.logEvidence - max)
          z += w
          pred += w * x.mean
        }
        preds[k] = pred / z
      }
      return preds
    }
  }
}
