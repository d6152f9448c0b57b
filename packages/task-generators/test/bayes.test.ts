import { describe, expect, it } from "vitest"
import { bayesOptimal, bayesOracle, leastSquares, oracle, sampleSequences, scorePredictions, solverPredictions, type RegressionTaskParams } from "../src/index.js"
import { basisSupports } from "../src/masks.js"
import { weightPool } from "../src/sampling.js"

const study: RegressionTaskParams = { dim: 16, nBases: 4, rank: 4, layout: "disjoint", groups: 2, noiseVariance: 0.01, nExamples: 8, weightPool: { kind: "fresh" }, weightScale: 1 }

/** Naive Gaussian elimination with partial pivoting: the inverse and log|det| of a small matrix (an independent route from Cholesky). */
function inverse(A: number[][]): { inv: number[][]; logDet: number } {
  const n = A.length
  const M = A.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))])
  let logDet = 0
  for (let c = 0; c < n; c++) {
    let piv = c
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[piv][c])) piv = r
    ;[M[c], M[piv]] = [M[piv], M[c]]
    logDet += Math.log(Math.abs(M[c][c]))
    const d = M[c][c]
    for (let j = 0; j < 2 * n; j++) M[c][j] /= d
    for (let r = 0; r < n; r++)
      if (r !== c) {
        const f = M[r][c]
        for (let j = 0; j < 2 * n; j++) M[r][j] -= f * M[c][j]
      }
  }
  return { inv: M.map((row) => row.slice(n)), logDet }
}

describe("Bayes-optimal references", () => {
  it("the basis-knowing Bayesian ridge has no error spike at k = r, where minimum-norm least squares has one", () => {
    const batch = sampleSequences(study, { n: 3000, seed: 11 })
    const curve = (s: ReturnType<typeof oracle>) => scorePredictions(batch, solverPredictions(batch, s)).filter((p) => p.basis === -1).map((p) => p.nmse)
    const minNorm = curve(oracle(study))
    const bayes = curve(bayesOracle(study))
    const r = study.rank
    expect(minNorm[r]).toBeGreaterThan(5 * minNorm[r - 1]) // the spike
    for (let k = 1; k < bayes.length; k++) expect(bayes[k]).toBeLessThanOrEqual(bayes[k - 1] * 1.02)
    expect(bayes[r]).toBeLessThan(minNorm[r] / 10)
    expect(bayes[r + 2]).toBeLessThan(0.05)
  })

  it("with a finite pool, the posterior predictor equals the brute-force posterior over the pool", () => {
    const task: RegressionTaskParams = { ...study, dim: 4, nBases: 2, rank: 2, noiseVariance: 0.1, nExamples: 5, weightPool: { kind: "pool", size: 3, seed: 4 } }
    const batch = sampleSequences(task, { n: 20, seed: 3 })
    const preds = solverPredictions(batch, bayesOptimal(task))
    const pool = weightPool(task)!
    const V = pool.length / task.dim
    const { K, D } = batch
    for (let s = 0; s < batch.n; s++)
      for (let k = 0; k < K; k++) {
        // product of Gaussian densities of the first k examples under each pool vector, then the posterior mean
        const fit = (v: number, i: number) => pool.slice(v * D, (v + 1) * D).reduce((a, w, j) => a + w * batch.xs[(s * K + i) * D + j], 0)
        const like = Array.from({ length: V }, (_, v) => {
          let p = 1
          for (let i = 0; i < k; i++) p *= Math.exp(-((batch.ys[s * K + i] - fit(v, i)) ** 2) / (2 * task.noiseVariance)) / Math.sqrt(2 * Math.PI * task.noiseVariance)
          return p
        })
        const z = like.reduce((a, b) => a + b, 0)
        const want = like.reduce((a, l, v) => a + (l / z) * fit(v, k), 0)
        expect(preds[s * K + k]).toBeCloseTo(want, 4)
      }
  })

  it("with fresh w, the basis-mixture predictor equals the weight-space posterior computed by elimination", () => {
    const task: RegressionTaskParams = { ...study, dim: 6, nBases: 3, rank: 2, noiseVariance: 0.05, nExamples: 5, weightScale: 1.5 }
    const batch = sampleSequences(task, { n: 10, seed: 5 })
    const preds = solverPredictions(batch, bayesOptimal(task))
    const sup = basisSupports(task)
    const { K, D } = batch
    const s2 = task.weightScale ** 2
    const n2 = task.noiseVariance
    for (let s = 0; s < batch.n; s++)
      for (let k = 1; k < K; k++) {
        const x = (i: number, b: number) => Array.from({ length: task.rank }, (_, t) => batch.xs[(s * K + i) * D + sup[b * task.rank + t]])
        const y = Array.from({ length: k }, (_, i) => batch.ys[s * K + i])
        const parts = Array.from({ length: task.nBases }, (_, b) => {
          // weight space: posterior precision X^T X / n2 + I / s2, mean = cov X^T y / n2
          const X = Array.from({ length: k }, (_, i) => x(i, b))
          const P = Array.from({ length: task.rank }, (_, a) => Array.from({ length: task.rank }, (_, c) => X.reduce((acc, row) => acc + (row[a] * row[c]) / n2, 0) + (a === c ? 1 / s2 : 0)))
          const cov = inverse(P).inv
          const Xty = Array.from({ length: task.rank }, (_, a) => X.reduce((acc, row, i) => acc + (row[a] * y[i]) / n2, 0))
          const mu = cov.map((row) => row.reduce((acc, v, c) => acc + v * Xty[c], 0))
          const mean = x(k, b).reduce((acc, v, t) => acc + v * mu[t], 0)
          // marginal likelihood in y space: N(y | 0, s2 X X^T + n2 I)
          const C = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => s2 * X[i].reduce((acc, v, t) => acc + v * X[j][t], 0) + (i === j ? n2 : 0)))
          const { inv, logDet } = inverse(C)
          const quad = y.reduce((acc, yi, i) => acc + yi * inv[i].reduce((a2, v, j) => a2 + v * y[j], 0), 0)
          return { mean, logEv: -0.5 * (quad + logDet + k * Math.log(2 * Math.PI)) }
        })
        const max = Math.max(...parts.map((p) => p.logEv))
        const w = parts.map((p) => Math.exp(p.logEv - max))
        const want = parts.reduce((acc, p, b) => acc + (w[b] / w.reduce((a, v) => a + v, 0)) * p.mean, 0)
        expect(preds[s * K + k]).toBeCloseTo(want, 4)
      }
  })

  it("the Bayes-optimal predictor is never worse than least squares on its own prior, and with a pool of one vector per basis it is near the noise after a few examples", () => {
    const pool: RegressionTaskParams = { ...study, dim: 8, rank: 2, nExamples: 6, weightPool: { kind: "pool", size: 1, seed: 7, normalize: true } }
    const batch = sampleSequences(pool, { n: 2000, seed: 9 })
    const curve = (s: ReturnType<typeof oracle>) => scorePredictions(batch, solverPredictions(batch, s)).filter((p) => p.basis === -1).map((p) => p.nmse)
    const bayes = curve(bayesOptimal(pool))
    const ls = curve(leastSquares())
    for (let k = 0; k < bayes.length; k++) expect(bayes[k], `k = ${k}`).toBeLessThanOrEqual(ls[k] + 1e-9)
    expect(bayes[3]).toBeLessThan(0.02)
  })
})
