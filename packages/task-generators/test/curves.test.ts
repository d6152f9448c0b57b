import { describe, expect, it } from "vitest"
import {
  errorCurves,
  lasso,
  leastSquares,
  oracle,
  sampleSequences,
  scorePredictions,
  solverPredictions,
  studyTaskDefaults,
  zero,
  type ErrorCurvePoint,
  type RegressionTaskParams
} from "../src/index.js"

const at = (curve: ErrorCurvePoint[], k: number, basis = -1) => curve.find((r) => r.k === k && r.basis === basis)!

/**
 * Expected test error of min-norm least squares with k isotropic Gaussian examples in p dims,
 * E||w||^2 = s2w, noise variance s2 (exact finite-sample formulas, e.g. Hastie et al. 2019):
 *   k < p - 1: s2w (1 - k/p) + s2 k / (p - k - 1) + s2;   k > p + 1: s2 (1 + p / (k - p - 1)).
 */
const minNormRisk = (k: number, p: number, s2w: number, s2: number) =>
  k < p - 1 ? s2w * (1 - k / p) + (s2 * k) / (p - k - 1) + s2 : s2 * (1 + p / (k - p - 1))

describe("error curves", () => {
  it("scorePredictions matches a brute-force per-basis average; zero scores nmse = 1", () => {
    const p = { ...studyTaskDefaults, nExamples: 6 }
    const b = sampleSequences(p, { n: 40, seed: 1 })
    const preds = Float32Array.from({ length: 40 * 6 }, (_, i) => Math.sin(i))
    const curve = scorePredictions(b, preds)
    expect(curve.length).toBe(5 * 6)
    for (const basis of [-1, 0, 1, 2, 3])
      for (let k = 0; k < 6; k++) {
        const idx = Array.from({ length: 40 }, (_, i) => i).filter((i) => basis < 0 || b.basis[i] === basis)
        const mse = idx.reduce((s, i) => s + (preds[i * 6 + k] - b.ys[i * 6 + k]) ** 2, 0) / idx.length
        const yy = idx.reduce((s, i) => s + b.ys[i * 6 + k] ** 2, 0) / idx.length
        const row = at(curve, k, basis)
        expect(row.n).toBe(idx.length)
        expect(row.mse).toBeCloseTo(mse, 10)
        expect(row.nmse).toBeCloseTo(mse / yy, 10)
      }
    for (const row of errorCurves(b, zero())) expect(row.nmse).toBeCloseTo(1, 12)
    expect(errorCurves(b, zero(), { includeAll: false }).every((r) => r.basis >= 0)).toBe(true)
    expect(() => scorePredictions(b, new Float32Array(5))).toThrow(/preds/)
  })

  it("least squares and the oracle follow the closed-form min-norm risks (oracle ~noise after r, LS needs ~D)", () => {
    const p: RegressionTaskParams = { ...studyTaskDefaults, nExamples: 40 }
    const b = sampleSequences(p, { n: 1200, seed: 7, basisBalanced: true })
    const ls = errorCurves(b, leastSquares())
    const or = errorCurves(b, oracle(p))
    const s2 = p.noiseVariance
    // mean of measured / closed-form risk over k ranges away from the interpolation threshold
    // (where the expected error is infinite): each k has ~5% sampling error, the mean ~2%
    const meanRatio = (curve: ErrorCurvePoint[], ks: number[], dims: number) =>
      ks.reduce((s, k) => s + at(curve, k).mse / minNormRisk(k, dims, 4, s2), 0) / ks.length
    const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)
    expect(Math.abs(meanRatio(ls, range(1, 12), 16) - 1)).toBeLessThan(0.06) // signal-limited regime
    expect(Math.abs(meanRatio(ls, range(24, 39), 16) - 1)).toBeLessThan(0.06) // noise-limited regime
    expect(Math.abs(meanRatio(or, range(1, 2), 4) - 1)).toBeLessThan(0.1) // only 2 k's, ~3.5% each
    expect(Math.abs(meanRatio(or, range(9, 39), 4) - 1)).toBeLessThan(0.06)
    // oracle: noise level a few examples past r; LS at the same k still misses half the signal
    expect(at(or, 10).mse).toBeLessThan(2 * s2)
    expect(at(ls, 10).nmse).toBeGreaterThan(0.3)
    expect(at(ls, 39).mse).toBeLessThan(3 * s2)
    for (let basis = 0; basis < 4; basis++) expect(at(or, 12, basis).mse).toBeLessThan(2 * s2)
  })

  it("lasso sits between least squares and the oracle on sparse tasks; cd and homotopy agree", () => {
    const p = studyTaskDefaults
    const b = sampleSequences(p, { n: 100, seed: 3 })
    const ls = errorCurves(b, leastSquares())
    const las = errorCurves(b, lasso())
    const or = errorCurves(b, oracle(p))
    for (const k of [8, 10, 12]) {
      expect(at(las, k).mse).toBeLessThan(0.7 * at(ls, k).mse)
      expect(at(las, k).mse).toBeGreaterThan(at(or, k).mse)
    }
    const cdSolver = lasso({ method: "cd", tol: 1e-8 })
    const pc = solverPredictions(b, cdSolver)
    const ph = solverPredictions(b, lasso())
    let close = 0
    for (let i = 0; i < pc.length; i++) if (Math.abs(pc[i] - ph[i]) < 1e-3) close++
    expect(close / pc.length).toBeGreaterThan(0.98)
    expect(cdSolver.stats.fits).toBe(100 * 19)
  })
})
