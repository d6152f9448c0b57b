import type { Metric } from "./distances.js"
import { nearestOthers } from "./neighbours.js"
import { checkLabelled, checkPositiveInt, fail } from "./validate.js"
import { vote } from "./vote.js"

export interface TDOptions {
  /** Neighbours per vote (default 10, the study's choice); clamped to n - 1. */
  readonly k?: number
  /** Distance (default "euclidean"); "cosine" = 1 - cosine similarity, zero vectors at distance 1. */
  readonly metric?: Metric
  /** Rows per backend distance block (default: as many as keep a [rows, n] block under 2^24 floats). */
  readonly blockRows?: number
}

export interface TDResult {
  /** Mean of perClass over the classes that have points. */
  readonly td: number
  /** Fraction of each class's points classified correctly; NaN for a class without points. */
  readonly perClass: number[]
  /** Leave-one-out kNN prediction of every point. */
  readonly predictions: Int32Array // [n]
  /** Fraction of all points classified correctly. */
  readonly accuracy: number
}

export function resolveTDOptions(
  fn: string,
  opts: TDOptions | undefined
): { k: number; metric: Metric; blockRows: number | undefined } {
  const k = checkPositiveInt(fn, "k", opts?.k ?? 10)
  const blockRows = opts?.blockRows === undefined ? undefined : checkPositiveInt(fn, "blockRows", opts.blockRows)
  const metric = opts?.metric ?? "euclidean"
  if (metric !== "euclidean" && metric !== "cosine") fail(fn, "metric", `must be "euclidean" or "cosine", got ${metric}`)
  return { k, metric, blockRows }
}

/** Per-class accuracy and its mean over non-empty classes. */
export function summarise(labels: Int32Array, predictions: Int32Array, nClasses: number): Omit<TDResult, "predictions"> {
  const total = new Int32Array(nClasses)
  const right = new Int32Array(nClasses)
  let correct = 0
  for (let i = 0; i < labels.length; i++) {
    total[labels[i]] += 1
    if (predictions[i] === labels[i]) {
      right[labels[i]] += 1
      correct += 1
    }
  }
  const perClass = Array.from(total, (t, c) => (t > 0 ? right[c] / t : NaN))
  const present = perClass.filter((v) => !Number.isNaN(v))
  const td = present.reduce((a, b) => a + b, 0) / present.length
  return { td, perClass, accuracy: correct / labels.length }
}

/**
 * Task decodability (the study's TD): leave-one-out kNN. Every point is classified by the majority
 * vote of its k nearest OTHER points (see `nearestOthers` for how neighbours are found and `vote` for
 * the tie rule); TD per class is the fraction of its points classified correctly, TD the mean over
 * classes. Throws ProbeInputError on malformed inputs.
 */
export function taskDecodability(
  X: Float32Array, // [n, d] row-major
  labels: Int32Array, // [n], 0..nClasses-1
  nClasses: number,
  opts?: TDOptions
): TDResult {
  const fn = "taskDecodability"
  const shape = checkLabelled(fn, X, labels, nClasses)
  const { k, metric, blockRows } = resolveTDOptions(fn, opts)
  const nb = nearestOthers(X, shape, k, metric, blockRows)
  const predictions = new Int32Array(shape.n)
  const counts = new Int32Array(nClasses)
  const sums = new Float64Array(nClasses)
  for (let i = 0; i < shape.n; i++) predictions[i] = vote(labels, nb.indices, nb.distances, i * nb.k, nb.k, counts, sums)
  return { ...summarise(labels, predictions, nClasses), predictions }
}
