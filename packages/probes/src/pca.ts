import * as tf from "@tensorflow/tfjs"
import { EigenvalueDecomposition, Matrix } from "ml-matrix"
import { Rng } from "@conceptscope/core"
import { ProbeComputeError } from "./errors.js"
import { checkShaped, fail } from "./validate.js"

export interface PCA2Options {
  /**
   * Where the products X^T (X Q) run: "float64" in plain JS, "tensor" on the active tfjs backend
   * (float32), "auto" (default) = float64 when n * d <= 2^20, else tensor.
   */
  readonly compute?: "auto" | "float64" | "tensor"
  /** Seed of the subspace-iteration start block (default 0); the result does not depend on it beyond convergence. */
  readonly seed?: number
  /** Most subspace iterations (default 300). */
  readonly maxIterations?: number
}

export interface PCA2Result {
  /** Projections of the centred rows on the two components. */
  readonly coords: Float32Array // [n, 2]
  /** Explained-variance ratios of the two components (variance along each / total variance). */
  readonly explained: [number, number]
  /** Unit principal axes, the largest-magnitude entry of each made positive (first on ties). */
  readonly components: Float64Array // [2, d]
  readonly mean: Float64Array // [d]
  /** Subspace iterations run, and whether the axes met the tolerance before maxIterations. */
  readonly iterations: number
  readonly converged: boolean
}

/** Modified Gram-Schmidt (twice) on the rows of q [p, d] in place; a collapsed row is redrawn from rng. */
function orthonormalise(q: Float64Array, p: number, d: number, rng: Rng): void {
  for (let c = 0; c < p; c++) {
    const row = q.subarray(c * d, (c + 1) * d)
    for (let attempt = 0; ; attempt++) {
      const before = Math.sqrt(row.reduce((s, v) => s + v * v, 0))
      for (let pass = 0; pass < 2; pass++) {
        for (let e = 0; e < c; e++) {
          const other = q.subarray(e * d, (e + 1) * d)
          let dot = 0
          for (let m = 0; m < d; m++) dot += row[m] * other[m]
          for (let m = 0; m < d; m++) row[m] -= dot * other[m]
        }
      }
      const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0))
      if (norm > 1e-10 * before && norm > 0) {
        for (let m = 0; m < d; m++) row[m] /= norm
        break
      }
      if (attempt > 5) throw new ProbeComputeError({ fn: "pca2", reason: "cannot complete an orthonormal block" })
      for (let m = 0; m < d; m++) row[m] = rng.normal()
    }
  }
}

/**
 * PCA to two dimensions. Rows are centred (float64 mean); the top two principal axes come from
 * block subspace iteration with Rayleigh-Ritz (block of min(d, n, 12) vectors, eigen-decomposition
 * of the small projected matrix with ml-matrix), run until both Ritz vectors stop turning
 * (1 - |cos| below 1e-13 in float64, 1e-9 on the tensor backend). Coordinates and explained
 * variance are then computed in float64 from the original rows.
 */
export function pca2(X: Float32Array /* [n, d] */, d: number, opts?: PCA2Options): PCA2Result {
  const fn = "pca2"
  const { n } = checkShaped(fn, X, d, 2)
  if (d < 2) fail(fn, "d", "need at least 2 features for 2 components")
  const compute = opts?.compute ?? "auto"
  const useTensor = compute === "tensor" || (compute === "auto" && n * d > 2 ** 20)
  const maxIterations = opts?.maxIterations ?? 300
  const tol = useTensor ? 1e-9 : 1e-13
  const rng = new Rng(opts?.seed ?? 0)

  const mean = new Float64Array(d) // [d]
  for (let i = 0; i < n; i++) for (let m = 0; m < d; m++) mean[m] += X[i * d + m]
  for (let m = 0; m < d; m++) mean[m] /= n
  const xc = new Float64Array(n * d) // [n, d] centred
  for (let i = 0; i < n; i++) for (let m = 0; m < d; m++) xc[i * d + m] = X[i * d + m] - mean[m]

  const p = Math.min(d, n, 12)
  const q = new Float64Array(p * d) // [p, d] rows = basis vectors
  for (let t = 0; t < q.length; t++) q[t] = rng.normal()
  orthonormalise(q, p, d, rng)

  // Y = Xc Q [n, p] and Z^T = (Xc^T Y)^T [p, d], in float64 or on the backend.
  const xt = useTensor ? tf.tensor2d(Float32Array.from(xc), [n, d]) : null // [n, d]
  const xtT = xt ? tf.transpose(xt) : null // [d, n]
  const apply = (basis: Float64Array): { y: Float64Array; zt: Float64Array } => {
    if (xt && xtT) {
      const [y, zt] = tf.tidy(() => {
        const qt = tf.transpose(tf.tensor2d(Float32Array.from(basis), [p, d])) // [d, p]
        const yt = tf.matMul(xt, qt) // [n, p]
        return [yt, tf.transpose(tf.matMul(xtT, yt))] // [n, p], [p, d]
      })
      const out = { y: Float64Array.from(y.dataSync()), zt: Float64Array.from(zt.dataSync()) }
      y.dispose()
      zt.dispose()
      return out
    }
    const y = new Float64Array(n * p)
    const zt = new Float64Array(p * d)
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < p; c++) {
        let s = 0
        for (let m = 0; m < d; m++) s += xc[i * d + m] * basis[c * d + m]
        y[i * p + c] = s
        for (let m = 0; m < d; m++) zt[c * d + m] += s * xc[i * d + m]
      }
    }
    return { y, zt }
  }

  let v = new Float64Array(2 * d) // [2, d] current Ritz vectors
  let prev: Float64Array | null = null
  let iterations = 0
  let converged = false
  try {
    for (let it = 0; it < maxIterations; it++) {
      iterations = it + 1
      const { y, zt } = apply(q)
      const small = new Matrix(p, p) // Y^T Y [p, p]
      for (let a = 0; a < p; a++) {
        for (let b = a; b < p; b++) {
          let s = 0
          for (let i = 0; i < n; i++) s += y[i * p + a] * y[i * p + b]
          small.set(a, b, s)
          small.set(b, a, s)
        }
      }
      const evd = new EigenvalueDecomposition(small, { assumeSymmetric: true })
      const order = evd.realEigenvalues.map((val, idx) => ({ val, idx })).sort((s, t) => t.val - s.val || s.idx - t.idx)
      v = new Float64Array(2 * d)
      for (let c = 0; c < 2; c++) {
        const col = order[c].idx
        for (let e = 0; e < p; e++) {
          const u = evd.eigenvectorMatrix.get(e, col)
          for (let m = 0; m < d; m++) v[c * d + m] += u * q[e * d + m]
        }
      }
      if (prev !== null && it >= 2) {
        let worst = 0
        for (let c = 0; c < 2; c++) {
          let dot = 0
          for (let m = 0; m < d; m++) dot += v[c * d + m] * prev[c * d + m]
          worst = Math.max(worst, 1 - Math.abs(dot))
        }
        if (worst < tol) {
          converged = true
          break
        }
      }
      prev = v
      q.set(zt)
      orthonormalise(q, p, d, rng)
    }
  } finally {
    xt?.dispose()
    xtT?.dispose()
  }

  for (let c = 0; c < 2; c++) {
    const row = v.subarray(c * d, (c + 1) * d)
    let norm = 0
    let big = 0
    for (let m = 0; m < d; m++) {
      norm += row[m] * row[m]
      if (Math.abs(row[m]) > Math.abs(row[big])) big = m
    }
    const scale = (row[big] < 0 ? -1 : 1) / Math.sqrt(norm)
    for (let m = 0; m < d; m++) row[m] *= scale
  }

  const coords = new Float32Array(n * 2)
  const variance = [0, 0]
  let total = 0
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < d; m++) total += xc[i * d + m] ** 2
    for (let c = 0; c < 2; c++) {
      let s = 0
      for (let m = 0; m < d; m++) s += xc[i * d + m] * v[c * d + m]
      coords[i * 2 + c] = s
      variance[c] += s * s
    }
  }
  const explained: [number, number] = total > 0 ? [variance[0] / total, variance[1] / total] : [0, 0]
  return { coords, explained, components: v, mean, iterations, converged }
}
