/**
 * Exact lasso by the homotopy (LARS-lasso) path, for the same objective as `lassoFit`:
 *     argmin_w (1/(2k)) ||y - X w||^2 + alpha ||w||_1.
 * In Gram form (G = X^T X / k, c = X^T y / k) the KKT conditions are c_A - G_A w = lambda s_A on
 * the active set A (s = signs) and |c_j - G_j w| <= lambda elsewhere. Starting from
 * lambda = max |c_j| with w = 0, the solution is piecewise linear in lambda:
 *     w_A(lambda) = a - lambda d,   a = G_AA^{-1} c_A,   d = G_AA^{-1} s_A,
 * and the path is followed from knot to knot (a coordinate joins when its correlation reaches
 * +-lambda, leaves when its coefficient crosses 0) down to lambda = alpha. Exact up to rounding;
 * used as the reference for the coordinate-descent solver and as `lasso({ method: "homotopy" })`.
 * `converged` is false if the path could not be followed (a singular G_AA, too many knots) or
 * the final duality gap exceeds 1e-9 * y.y / k.
 */
import { lassoDualityGap, lassoGram, matVec, type LassoFit } from "./lasso.js"
import { trySolveSpd } from "./linalg.js"

export function lassoHomotopy(
  X: Float64Array, // [k, p]
  y: Float64Array, // [k]
  k: number,
  p: number,
  alpha: number,
  maxKnots = 50 * p
): LassoFit {
  const w = new Float64Array(p) // [p]
  if (k === 0) return { w, sweeps: 0, converged: true, relativeGap: 0 }
  const { G, c, yy } = lassoGram(X, y, k, p)
  const finish = (knots: number, converged: boolean): LassoFit => {
    const q = new Float64Array(p) // [p] = G w
    matVec(G, w, q, p)
    const relativeGap = yy > 0 ? lassoDualityGap(w, c, q, yy, alpha, p) / yy : 0
    return { w, sweeps: knots, converged: converged && relativeGap <= 1e-9, relativeGap }
  }
  let lambda = 0
  let first = -1
  for (let j = 0; j < p; j++)
    if (Math.abs(c[j]) > lambda) {
      lambda = Math.abs(c[j])
      first = j
    }
  if (first < 0 || lambda <= alpha) return finish(0, true)
  const active: number[] = [first]
  const sign = new Float64Array(p) // [p] signs of the active coordinates, 0 elsewhere
  sign[first] = Math.sign(c[first])
  for (let knot = 1; knot <= maxKnots; knot++) {
    const m = active.length
    const A = new Float64Array(m * m) // [m, m] = G_AA
    const cA = new Float64Array(m) // [m]
    const sA = new Float64Array(m) // [m]
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) A[i * m + j] = G[active[i] * p + active[j]]
      cA[i] = c[active[i]]
      sA[i] = sign[active[i]]
    }
    const a = trySolveSpd(A, m, cA) // [m]
    const d = trySolveSpd(A, m, sA) // [m]
    if (a === null || d === null) return finish(knot, false)
    // Next knot at or below lambda: a join (|u_j + l v_j| = l) or a drop (a_i - l d_i = 0).
    // Ties (several coordinates reaching +-lambda together) give zero-length steps.
    const ceiling = lambda * (1 + 1e-12)
    let next = alpha
    let event: { kind: "join"; j: number } | { kind: "drop"; i: number } | null = null
    // Only moves in the right direction count, so that rounding cannot make a coordinate that
    // just joined leave at once (or one that just left rejoin): a coefficient of sign s_i heads
    // to 0 as lambda decreases iff d_i s_i < 0; correlation u + l v reaches s l from inside iff
    // 1 - s v > 0.
    for (let i = 0; i < m; i++) {
      if (!(d[i] * sA[i] < 0)) continue
      const l = a[i] / d[i]
      if (l > next && l <= ceiling) {
        next = Math.min(l, lambda)
        event = { kind: "drop", i }
      }
    }
    for (let j = 0; j < p; j++) {
      if (sign[j] !== 0) continue
      let ga = 0
      let gd = 0
      for (let i = 0; i < m; i++) {
        ga += G[j * p + active[i]] * a[i]
        gd += G[j * p + active[i]] * d[i]
      }
      const u = c[j] - ga // r_j(l) = u + l v
      const v = gd
      for (const s of [1, -1]) {
        if (!(1 - s * v > 0)) continue
        const l = u / (s - v)
        if (l > next && l <= ceiling) {
          next = Math.min(l, lambda)
          event = { kind: "join", j }
        }
      }
    }
    for (let j = 0; j < p; j++) w[j] = 0
    for (let i = 0; i < m; i++) w[active[i]] = a[i] - next * d[i]
    if (event === null) return finish(knot, true) // reached alpha
    lambda = next
    if (event.kind === "drop") {
      const j = active[event.i]
      w[j] = 0
      sign[j] = 0
      active.splice(event.i, 1)
    } else {
      let r = c[event.j]
      for (let i = 0; i < p; i++) r -= G[event.j * p + i] * w[i]
      sign[event.j] = Math.sign(r)
      active.push(event.j)
    }
    if (active.length === 0) return finish(knot, false)
  }
  return finish(maxKnots, false)
}
