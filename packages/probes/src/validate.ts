import { ProbeInputError } from "./errors.js"

/** Shape of a row-major matrix X: Float32Array, [n, d]. */
export interface Shape {
  readonly n: number
  readonly d: number
}

const fail = (fn: string, field: string, reason: string): never => {
  throw new ProbeInputError({ fn, field, reason })
}

/** Every value of X is finite; returns nothing, throws ProbeInputError otherwise. */
export function checkFinite(fn: string, X: Float32Array): void {
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i])) fail(fn, "X", `non-finite value ${X[i]} at flat index ${i}`)
  }
}

/** X [n, d] with n = labels.length; labels in 0..nClasses-1. Returns the shape. */
export function checkLabelled(fn: string, X: Float32Array, labels: Int32Array, nClasses: number): Shape {
  const n = labels.length
  if (!Number.isInteger(nClasses) || nClasses < 1) fail(fn, "nClasses", `must be a positive integer, got ${nClasses}`)
  if (n < 2) fail(fn, "labels", `need at least 2 points, got ${n}`)
  if (X.length % n !== 0 || X.length === 0) {
    fail(fn, "X", `length ${X.length} is not a positive multiple of labels.length ${n}`)
  }
  for (let i = 0; i < n; i++) {
    const y = labels[i]
    if (y < 0 || y >= nClasses) fail(fn, "labels", `label ${y} at index ${i} is outside 0..${nClasses - 1}`)
  }
  checkFinite(fn, X)
  return { n, d: X.length / n }
}

/** X [n, d] given d. Returns the shape. */
export function checkShaped(fn: string, X: Float32Array, d: number, minRows = 1): Shape {
  if (!Number.isInteger(d) || d < 1) fail(fn, "d", `must be a positive integer, got ${d}`)
  if (X.length % d !== 0) fail(fn, "X", `length ${X.length} is not a multiple of d = ${d}`)
  const n = X.length / d
  if (n < minRows) fail(fn, "X", `need at least ${minRows} rows, got ${n}`)
  checkFinite(fn, X)
  return { n, d }
}

export function checkPositiveInt(fn: string, field: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) fail(fn, field, `must be a positive integer, got ${v}`)
  return v
}

export function checkRange(fn: string, field: string, v: number, lo: number, hi: number): number {
  if (!(v >= lo && v <= hi)) fail(fn, field, `must lie in [${lo}, ${hi}], got ${v}`)
  return v
}

export { fail }
