/**
 * Error-vs-K curves: squared error of the prediction of y_k from the first k examples, averaged
 * per (k, basis) over the batch's sequences.
 *   mse(k, b)  = mean over sequences i of basis b of (pred[i, k] - y[i, k])^2
 *   nmse(k, b) = mse(k, b) / mean over the same sequences of y[i, k]^2
 * so predicting 0 scores nmse = 1 exactly. Rows with basis = -1 pool all sequences. The same
 * scoring applies to any predictions (e.g. a trained transformer's) via `scorePredictions`.
 */
import { InvalidRequest } from "./errors.js"
import type { RegressionBatch } from "./sampling.js"
import type { Solver } from "./solvers.js"

export interface ErrorCurvePoint {
  readonly k: number
  /** Basis index, or -1 for all sequences. */
  readonly basis: number
  readonly mse: number
  readonly nmse: number
  /** Number of sequences averaged. */
  readonly n: number
}

export interface ErrorCurveOptions {
  /** Add the pooled rows (basis = -1). Default true. */
  readonly includeAll?: boolean
}

/** Run a solver over every sequence of the batch. */
export function solverPredictions(batch: RegressionBatch, solver: Solver): Float32Array /* [n, K] */ {
  const { n, K, D } = batch
  const out = new Float32Array(n * K) // [n, K]
  const x = new Float64Array(K * D) // [K, D]
  const y = new Float64Array(K) // [K]
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < K * D; j++) x[j] = batch.xs[i * K * D + j]
    for (let k = 0; k < K; k++) y[k] = batch.ys[i * K + k]
    out.set(solver.predictSequence(x, y, K, D, batch.basis[i]), i * K)
  }
  return out
}

/** Score predictions [n, K] of a batch's y into error curves, sorted by basis (-1 first) then k. */
export function scorePredictions(
  batch: RegressionBatch,
  preds: Float32Array | Float64Array, // [n, K]
  options: ErrorCurveOptions = {}
): ErrorCurvePoint[] {
  const { n, K } = batch
  if (preds.length !== n * K)
    throw new InvalidRequest({ field: "preds", reason: `expected ${n} x ${K} values, got ${preds.length}`, value: preds.length })
  let nBases = 0
  for (let i = 0; i < n; i++) nBases = Math.max(nBases, batch.basis[i] + 1)
  const slots = nBases + 1 // slot 0 = all, slot b + 1 = basis b
  const se = new Float64Array(slots * K) // [slots, K]
  const yy = new Float64Array(slots * K) // [slots, K]
  const count = new Float64Array(slots) // [slots]
  for (let i = 0; i < n; i++) {
    const s = batch.basis[i] + 1
    count[0]++
    count[s]++
    for (let k = 0; k < K; k++) {
      const y = batch.ys[i * K + k]
      const e = (preds[i * K + k] - y) ** 2
      se[k] += e
      yy[k] += y * y
      se[s * K + k] += e
      yy[s * K + k] += y * y
    }
  }
  const out: ErrorCurvePoint[] = []
  const includeAll = options.includeAll ?? true
  for (let s = includeAll ? 0 : 1; s < slots; s++) {
    if (count[s] === 0) continue
    for (let k = 0; k < K; k++) {
      const mse = se[s * K + k] / count[s]
      out.push({ k, basis: s - 1, mse, nmse: mse / (yy[s * K + k] / count[s]), n: count[s] })
    }
  }
  return out
}

/** Error-vs-K curves of a reference solver on a batch. */
export function errorCurves(batch: RegressionBatch, solver: Solver, options: ErrorCurveOptions = {}): ErrorCurvePoint[] {
  return scorePredictions(batch, solverPredictions(batch, solver), options)
}
