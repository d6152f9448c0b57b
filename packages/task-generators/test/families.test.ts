import { describe, expect, it } from "vitest"
import { Either } from "effect"
import { bayesOptimal, oracle, sampleSequences, studyTaskDefaults, validateTaskParams, weightPool, type RegressionTaskParams } from "../src/index.js"

const families: RegressionTaskParams = {
  ...studyTaskDefaults,
  dim: 8,
  nBases: 4,
  rank: 2,
  nExamples: 6,
  noiseVariance: 0,
  families: ["linear", "sparse-linear", "leaky-relu", "quadratic"]
}

describe("mixture of regression families", () => {
  it("each family carries the signal of one rank-r basis: E[y^2] = r * weightScale^2", () => {
    const b = sampleSequences(families, { n: 8000, seed: 3, basisBalanced: true })
    for (let c = 0; c < 4; c++) {
      let yy = 0
      let n = 0
      for (let i = 0; i < b.n; i++) {
        if (b.basis[i] !== c) continue
        for (let k = 0; k < b.K; k++) yy += b.ys[i * b.K + k] ** 2
        n += b.K
      }
      expect(yy / n).toBeGreaterThan(2 * 0.9)
      expect(yy / n).toBeLessThan(2 * 1.1)
    }
  })

  it("computes each family's function of (w, x) as documented", () => {
    const b = sampleSequences(families, { n: 400, seed: 5, basisBalanced: true })
    const { D, K } = b
    for (let i = 0; i < b.n; i++) {
      const w = b.ws.subarray(i * D, (i + 1) * D)
      const nonzero = w.filter((v) => v !== 0).length
      const fam = families.families![b.basis[i]]
      if (fam === "sparse-linear") expect(nonzero).toBe(2)
      else expect(nonzero).toBe(D)
      for (let k = 0; k < K; k++) {
        const x = b.xs.subarray((i * K + k) * D, (i * K + k + 1) * D)
        const dot = w.reduce((a, v, j) => a + v * x[j], 0)
        const want =
          fam === "quadratic" ? w.reduce((a, v, j) => a + v * (x[j] * x[j] - 1), 0) : fam === "leaky-relu" ? Math.sqrt(2 / 1.01) * (dot >= 0 ? dot : 0.1 * dot) : dot
        expect(b.ys[i * K + k]).toBeCloseTo(want, 4)
      }
    }
  })

  it("draws pools per family and refuses basis references and a family count that differs from nBases", () => {
    const pool = weightPool({ ...families, weightPool: { kind: "pool", size: 3, seed: 2 } })!
    expect(pool.length).toBe(4 * 3 * 8)
    expect(() => oracle(families)).toThrow(/basis mixtures only/)
    expect(() => bayesOptimal(families)).toThrow(/basis mixtures only/)
    const bad = validateTaskParams({ ...families, nBases: 3 })
    expect(Either.isLeft(bad) && bad.left.field).toBe("families")
  })

  it("a pool without a seed cannot be drawn", () => {
    expect(() => weightPool({ ...studyTaskDefaults, weightPool: { kind: "pool", size: 2 } })).toThrow(/weightPool.seed/)
  })
})
