import { describe, expect, it } from "vitest"
import { Rng } from "@conceptscope/core"
import { lasso, SolverError } from "../src/index.js"
import { lassoFit } from "../src/lasso.js"
import { lassoHomotopy } from "../src/lasso-homotopy.js"
import { solveSpd, trySolveSpd } from "../src/linalg.js"
import { leastSquaresFit } from "../src/solvers.js"

/** Gauss-Jordan elimination with partial pivoting (independent of the package's Cholesky); null if singular. */
function gaussSolve(A: number[][], b: number[]): number[] | null {
  const n = b.length
  const M = A.map((row, i) => [...row, b[i]])
  for (let col = 0; col < n; col++) {
    let piv = col
    for (let r = col + 1; r < n; r++) if (Math.abs(M[r][col]) > Math.abs(M[piv][col])) piv = r
    if (Math.abs(M[piv][col]) < 1e-10) return null
    ;[M[col], M[piv]] = [M[piv], M[col]]
    for (let r = 0; r < n; r++) {
      if (r === col) continue
      const f = M[r][col] / M[col][col]
      for (let c = col; c <= n; c++) M[r][c] -= f * M[col][c]
    }
  }
  return M.map((row, i) => row[n] / row[i])
}

const randomProblem = (rng: Rng, k: number, p: number) => {
  const X = Float64Array.from({ length: k * p }, () => rng.normal()) // [k, p]
  const y = Float64Array.from({ length: k }, () => rng.normal()) // [k]
  const rows = Array.from({ length: k }, (_, i) => Array.from(X.subarray(i * p, (i + 1) * p)))
  return { X, y, rows }
}
const XtX = (rows: number[][], p: number) =>
  Array.from({ length: p }, (_, a) => Array.from({ length: p }, (_, b) => rows.reduce((s, r) => s + r[a] * r[b], 0)))
const Xty = (rows: number[][], y: Float64Array, p: number) =>
  Array.from({ length: p }, (_, a) => rows.reduce((s, r, i) => s + r[a] * y[i], 0))

describe("linear algebra", () => {
  it("solveSpd solves SPD systems, regularises singular PSD ones, rejects indefinite ones", () => {
    const rng = new Rng(1)
    const n = 6
    const { rows } = randomProblem(rng, 9, n)
    const A = XtX(rows, n).map((r, i) => r.map((v, j) => v + (i === j ? 0.5 : 0)))
    const b = Array.from({ length: n }, () => rng.normal())
    const x = solveSpd(Float64Array.from(A.flat()), n, Float64Array.from(b))
    const ref = gaussSolve(A, b)!
    for (let i = 0; i < n; i++) expect(x[i]).toBeCloseTo(ref[i], 9)
    // rank-1 PSD matrix u u^T and b in its range: jitter gives a solution with A x ~= b
    const u = [1, 2, -1]
    const R = u.flatMap((a) => u.map((c) => a * c))
    const xs = trySolveSpd(Float64Array.from(R), 3, Float64Array.from([2, 4, -2]))!
    const Ax = u.map((a) => a * (u[0] * xs[0] + u[1] * xs[1] + u[2] * xs[2]))
    expect(Ax[0]).toBeCloseTo(2, 6)
    expect(Ax[1]).toBeCloseTo(4, 6)
    expect(() => solveSpd(Float64Array.from([-1, 0, 0, -2]), 2, Float64Array.from([1, 1]))).toThrow(SolverError)
  })
})

describe("least squares", () => {
  it("overdetermined: equals the brute-force normal-equations solution", () => {
    const rng = new Rng(2)
    const { X, y, rows } = randomProblem(rng, 9, 5)
    const w = leastSquaresFit(X, y, 9, 5)
    const ref = gaussSolve(XtX(rows, 5), Xty(rows, y, 5))!
    for (let j = 0; j < 5; j++) expect(w[j]).toBeCloseTo(ref[j], 6)
  })

  it("underdetermined: interpolates with the minimum-norm solution X^T (X X^T)^-1 y", () => {
    const rng = new Rng(3)
    const k = 4, p = 7
    const { X, y, rows } = randomProblem(rng, k, p)
    const w = leastSquaresFit(X, y, k, p)
    const K = rows.map((a) => rows.map((b) => a.reduce((s, v, i) => s + v * b[i], 0)))
    const alpha = gaussSolve(K, Array.from(y))!
    for (let j = 0; j < p; j++) expect(w[j]).toBeCloseTo(rows.reduce((s, r, i) => s + r[j] * alpha[i], 0), 6)
    for (let i = 0; i < k; i++) expect(rows[i].reduce((s, v, j) => s + v * w[j], 0)).toBeCloseTo(y[i], 6)
  })

  it("ridge: dual form (k <= p) and primal form (k > p) both equal (X^T X + lambda I)^-1 X^T y", () => {
    const rng = new Rng(4)
    for (const [k, p] of [[3, 8], [8, 8], [12, 5]]) {
      const { X, y, rows } = randomProblem(rng, k, p)
      const w = leastSquaresFit(X, y, k, p, 0.3)
      const A = XtX(rows, p).map((r, i) => r.map((v, j) => v + (i === j ? 0.3 : 0)))
      const ref = gaussSolve(A, Xty(rows, y, p))!
      for (let j = 0; j < p; j++) expect(w[j]).toBeCloseTo(ref[j], 9)
    }
  })
})

const soft = (v: number, a: number) => Math.sign(v) * Math.max(Math.abs(v) - a, 0)

/** Brute-force lasso: every sign pattern, KKT solve on its support, keep the consistent one of least objective. */
function bruteLasso(rows: number[][], y: Float64Array, p: number, alpha: number): number[] {
  const k = rows.length
  const objective = (w: number[]) =>
    rows.reduce((s, r, i) => s + (y[i] - r.reduce((t, v, j) => t + v * w[j], 0)) ** 2, 0) / (2 * k) +
    alpha * w.reduce((s, v) => s + Math.abs(v), 0)
  const G = XtX(rows, p).map((r) => r.map((v) => v / k))
  const c = Xty(rows, y, p).map((v) => v / k)
  let best = new Array(p).fill(0)
  let bestObj = objective(best)
  for (let code = 0; code < 3 ** p; code++) {
    const s = Array.from({ length: p }, (_, j) => (Math.floor(code / 3 ** j) % 3) - 1)
    const S = s.flatMap((v, j) => (v !== 0 ? [j] : []))
    if (S.length === 0) continue
    const z = gaussSolve(S.map((a) => S.map((b) => G[a][b])), S.map((a) => c[a] - alpha * s[a]))
    if (!z || z.some((v, i) => Math.sign(v) !== s[S[i]])) continue
    const w = new Array(p).fill(0)
    S.forEach((a, i) => (w[a] = z[i]))
    const obj = objective(w)
    if (obj < bestObj) [best, bestObj] = [w, obj]
  }
  return best
}

describe("lasso", () => {
  it("orthonormal design (X^T X = k I): equals soft-thresholding of X^T y / k", () => {
    const H = [[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]
    const rows = [...H, ...H] // k = 8, p = 4, X^T X = 8 I
    const X = Float64Array.from(rows.flat())
    const y = Float64Array.from([0.9, -0.3, 2.1, 0.05, 1.4, -1.2, 0.2, 0.7])
    const c = Xty(rows, y, 4).map((v) => v / 8)
    for (const alpha of [0, 0.01, 0.1, 0.3, 10]) {
      const expected = c.map((v) => soft(v, alpha))
      for (const fit of [lassoHomotopy(X, y, 8, 4, alpha), lassoFit(X, y, 8, 4, { alpha, tol: 1e-12 }), lassoFit(X, y, 8, 4, { alpha, tol: 1e-12, rule: "cyclic" })]) {
        expect(fit.converged).toBe(true)
        for (let j = 0; j < 4; j++) expect(fit.w[j]).toBeCloseTo(expected[j], 10)
      }
    }
  })

  it("equals a brute-force search over sign patterns (small p, under- and overdetermined)", () => {
    const rng = new Rng(5)
    for (const [k, p, alpha] of [[2, 4, 0.05], [3, 4, 0.01], [6, 4, 0.1], [10, 5, 0.02], [1, 5, 0.01]]) {
      for (let rep = 0; rep < 3; rep++) {
        const { X, y, rows } = randomProblem(rng, k, p)
        const ref = bruteLasso(rows, y, p, alpha)
        const h = lassoHomotopy(X, y, k, p, alpha)
        const cd = lassoFit(X, y, k, p, { alpha, tol: 1e-14, maxSweeps: 100_000 })
        for (let j = 0; j < p; j++) {
          expect(h.w[j]).toBeCloseTo(ref[j], 8)
          expect(cd.w[j]).toBeCloseTo(ref[j], 4)
        }
      }
    }
  })

  it("homotopy satisfies the KKT conditions on study-sized problems; cd agrees when converged", () => {
    const rng = new Rng(6)
    const alpha = 0.01
    let agreed = 0
    for (let rep = 0; rep < 40; rep++) {
      const k = 1 + (rep % 19), p = 16
      const { X, y, rows } = randomProblem(rng, k, p)
      const { w, converged, relativeGap } = lassoHomotopy(X, y, k, p, alpha)
      expect(converged).toBe(true)
      expect(relativeGap).toBeLessThan(1e-9)
      const r = rows.map((row, i) => y[i] - row.reduce((s, v, j) => s + v * w[j], 0)) // residual [k]
      for (let j = 0; j < p; j++) {
        const corr = rows.reduce((s, row, i) => s + row[j] * r[i], 0) / k // x_j^T r / k
        if (w[j] !== 0) expect(corr).toBeCloseTo(alpha * Math.sign(w[j]), 9)
        else expect(Math.abs(corr)).toBeLessThanOrEqual(alpha * (1 + 1e-9))
      }
      const cd = lassoFit(X, y, k, p, { alpha, tol: 1e-12, maxSweeps: 20_000 })
      if (cd.converged) {
        agreed++
        for (let j = 0; j < p; j++) expect(cd.w[j]).toBeCloseTo(w[j], 3)
      }
    }
    expect(agreed).toBeGreaterThan(30)
  })

  it("rejects invalid solver options with the field name", () => {
    expect(() => lasso({ alpha: -1 })).toThrow(/alpha/)
    expect(() => lasso({ tol: 0 })).toThrow(/tol/)
  })
})
