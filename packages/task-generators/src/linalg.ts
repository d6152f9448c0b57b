/**
 * Small dense linear algebra in float64 for the reference solvers (systems of size <= ~24).
 * Matrices are row-major Float64Arrays.
 */
import { SolverError } from "./errors.js"

/** In-place Cholesky factorisation A = L L^T (lower triangle written into `a`); false if not SPD. */
export function choleskyInPlace(a: Float64Array /* [n, n] */, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]
    for (let k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k]
    if (!(d > 0)) return false
    const ljj = Math.sqrt(d)
    a[j * n + j] = ljj
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k]
      a[i * n + j] = s / ljj
    }
  }
  return true
}

/** Solve L L^T x = b in place given the factor from `choleskyInPlace`. */
export function choleskySolveInPlace(l: Float64Array /* [n, n] */, n: number, b: Float64Array /* [n] */): void {
  for (let i = 0; i < n; i++) {
    let s = b[i]
    for (let k = 0; k < i; k++) s -= l[i * n + k] * b[k]
    b[i] = s / l[i * n + i]
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k]
    b[i] = s / l[i * n + i]
  }
}

/**
 * Solve A x = b for symmetric positive (semi-)definite A. If the factorisation fails (A singular
 * to working precision), retries with jitter 1e-12, 1e-10, ... (up to 1e0) times the mean
 * diagonal added to the diagonal; null if every attempt fails. Does not modify `a` or `b`.
 */
export function trySolveSpd(
  a: Float64Array, // [n, n]
  n: number,
  b: Float64Array // [n]
): Float64Array /* [n] */ | null {
  let meanDiag = 0
  for (let i = 0; i < n; i++) meanDiag += a[i * n + i]
  meanDiag = n > 0 ? Math.max(meanDiag / n, 1e-300) : 1
  for (let attempt = 0; attempt < 8; attempt++) {
    const l = a.slice()
    if (attempt > 0) {
      const jitter = meanDiag * 10 ** (-14 + 2 * attempt)
      for (let i = 0; i < n; i++) l[i * n + i] += jitter
    }
    if (choleskyInPlace(l, n)) {
      const x = b.slice()
      choleskySolveInPlace(l, n, x)
      return x
    }
  }
  return null
}

/** `trySolveSpd` that throws a `SolverError` when A is not positive semi-definite. */
export function solveSpd(a: Float64Array /* [n, n] */, n: number, b: Float64Array /* [n] */): Float64Array /* [n] */ {
  const x = trySolveSpd(a, n, b)
  if (x === null) throw new SolverError({ solver: "solveSpd", reason: `matrix of size ${n} is not positive semi-definite` })
  return x
}
