import { Rng } from "@conceptscope/core"
import { describe, expect, it } from "vitest"
import { conceptCoupling, pearson, phaseSurrogates, spearman } from "../src/index.js"

/** 24 checkpoints over 10,000 steps, dense early and sparse late (as the training stage keeps them). */
const steps = Array.from({ length: 24 }, (_, i) => Math.round(10_000 * (i / 23) ** 2)).map((s, i) => s + i)
const sigmoid = (s: number, at: number, width: number) => 1 / (1 + Math.exp(-(s - at) / width))
const noise = (seed: number, scale: number) => {
  const rng = new Rng(seed)
  return () => scale * rng.normal()
}

describe("per-concept coupling with a null", () => {
  it("a smooth loss decay beside an unrelated TD ramp: levels rank-correlate, the rates are not significant", () => {
    const e = noise(1, 0.004)
    const loss = steps.map((s) => Math.exp(-s / 2500))
    const td = steps.map((s) => 0.25 + (0.7 * s) / 10_000 + e())
    expect(spearman(td, loss.map((v) => -v))).toBeGreaterThan(0.95) // what a level correlation would claim
    const c = conceptCoupling(steps, loss, td)
    expect(c.pValue).toBeGreaterThan(0.05)
  })

  it("a TD rise 5,000 steps after the loss drop: the lag is 5,000 steps and neither statistic is significant", () => {
    const loss = steps.map((s) => 1 - 0.9 * sigmoid(s, 2000, 150))
    const td = steps.map((s) => 0.25 + 0.7 * sigmoid(s, 7000, 150))
    expect(spearman(td, loss.map((v) => -v))).toBeGreaterThan(0.5)
    const c = conceptCoupling(steps, loss, td)
    expect(c.lagSteps!).toBeGreaterThan(4800)
    expect(c.lagSteps!).toBeLessThan(5200)
    expect(c.pValue).toBeGreaterThan(0.05)
    expect(c.lagPValue!).toBeGreaterThan(0.05)
  })

  it("a TD rise with the loss drop (the study's mechanism): significant, lag near 0", () => {
    const e = noise(2, 0.01)
    const loss = steps.map((s) => 1 - 0.9 * sigmoid(s, 3000, 300) + e() / 3)
    const td = steps.map((s) => 0.25 + 0.7 * sigmoid(s, 3050, 300) + e())
    const c = conceptCoupling(steps, loss, td)
    expect(Math.abs(c.lagSteps!)).toBeLessThan(300)
    expect(c.rateCorrelation).toBeGreaterThan(0.8)
    expect(c.pValue).toBeLessThan(0.01)
    expect(c.lagPValue!).toBeLessThan(0.1)
  })

  it("is deterministic for a seed, and a flat TD curve is never significant", () => {
    const loss = steps.map((s) => 1 - 0.9 * sigmoid(s, 3000, 300))
    const td = steps.map((s) => 0.25 + 0.7 * sigmoid(s, 3000, 300))
    expect(conceptCoupling(steps, loss, td, { seed: 7 })).toEqual(conceptCoupling(steps, loss, td, { seed: 7 }))
    const flat = conceptCoupling(steps, loss, steps.map(() => 0.25))
    expect(flat).toMatchObject({ tdHalfStep: null, lagSteps: null, pValue: 1, lagPValue: null })
    expect(() => conceptCoupling(steps.slice(0, 2), [1, 0], [0, 1])).toThrow(/at least 3 checkpoints/)
  })

  it("is calibrated: on unrelated noisy curves, p <= 0.05 about 5% of the time", () => {
    // white measurement noise on both curves: the increments are MA(1) (lag-1 autocorrelation -0.5),
    // which a permutation null ignores (it rejects 10-15% of the time; tools/src/coupling-calibration.ts)
    const rng = new Rng(3)
    const sims = 300
    let rejections = 0
    for (let k = 0; k < sims; k++) {
      const loss = steps.map(() => 1 + 0.02 * rng.normal())
      const td = steps.map(() => 0.25 + 0.03 * rng.normal())
      if (conceptCoupling(steps, loss, td, { surrogates: 199, seed: k }).pValue <= 0.05) rejections++
    }
    // binomial(300, 0.05): mean 15, sd 3.8; 27 is 3 sd above
    expect(rejections).toBeLessThanOrEqual(27)
    expect(rejections).toBeGreaterThanOrEqual(5)
  })
})

describe("phase-randomised surrogates", () => {
  const periodogram = (x: readonly number[]) => {
    const n = x.length
    const m = x.reduce((s, v) => s + v, 0) / n
    return Array.from({ length: n }, (_, k) => {
      let re = 0
      let im = 0
      x.forEach((v, t) => {
        re += (v - m) * Math.cos((2 * Math.PI * k * t) / n)
        im += (v - m) * Math.sin((2 * Math.PI * k * t) / n)
      })
      return re * re + im * im
    })
  }

  for (const n of [7, 8, 23]) {
    it(`keep the periodogram and change the timing (n = ${n})`, () => {
      const rng = new Rng(n)
      const x = Array.from({ length: n }, (_, t) => Math.sin(t / 2) + 0.3 * rng.normal() + 5)
      const draw = phaseSurrogates(x, new Rng(1))
      const px = periodogram(x)
      const correlations: number[] = []
      for (let d = 0; d < 20; d++) {
        const s = draw()
        expect(s.reduce((a, v) => a + v, 0)).toBeCloseTo(0, 9) // mean removed
        periodogram(s).forEach((v, k) => expect(v).toBeCloseTo(px[k], 6))
        correlations.push(pearson(x, s))
      }
      expect(Math.min(...correlations)).toBeLessThan(0.9) // not the series itself
    })
  }
})
