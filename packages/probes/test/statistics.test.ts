import { describe, expect, it } from "vitest"
import { Rng } from "@conceptscope/core"
import { chanceTD, halfwayCrossing, linearFit, pearson, spearman } from "../src/index.js"
import { averageRanks } from "../src/statistics.js"

describe("statistics", () => {
  // a = 1..5, b = [2, 4, 5, 4, 5]: deviations a (-2, -1, 0, 1, 2), b (-2, 0, 1, 0, 1);
  // Sab = 6, Saa = 10, Sbb = 6 -> r = 6 / sqrt(60), slope 0.6, intercept 4 - 0.6 * 3 = 2.2, r2 = 0.6.
  const a = [1, 2, 3, 4, 5]
  const b = [2, 4, 5, 4, 5]

  it("pearson and linearFit match hand-computed values", () => {
    expect(pearson(a, b)).toBeCloseTo(6 / Math.sqrt(60), 14)
    const fit = linearFit(a, b)
    expect(fit.slope).toBeCloseTo(0.6, 14)
    expect(fit.intercept).toBeCloseTo(2.2, 14)
    expect(fit.r2).toBeCloseTo(0.6, 14)
    expect(linearFit([0, 1, 2], [1, 3, 5])).toEqual({ slope: 2, intercept: 1, r2: 1 })
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN()
  })

  it("spearman uses average ranks for ties", () => {
    // ranks of b: 2 -> 1, the two 4s -> 2.5, the two 5s -> 4.5; Pearson of (1..5) with
    // (1, 2.5, 4.5, 2.5, 4.5): Sab = 7, Saa = 10, Sbb = 9 -> 7 / sqrt(90).
    expect(Array.from(averageRanks(b))).toEqual([1, 2.5, 4.5, 2.5, 4.5])
    expect(spearman(a, b)).toBeCloseTo(7 / Math.sqrt(90), 14)
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBe(1)
    expect(spearman([1, 2, 3, 4], [10, 5, 0, -5])).toBe(-1)
  })

  it("spearman equals 1 - 6 sum d^2 / (n (n^2 - 1)) without ties", () => {
    const rng = new Rng(8)
    const n = 30
    const x = rng.permutation(n).map((v) => v * 1.5 + 2)
    const y = rng.permutation(n).map((v) => Math.exp(v / 10))
    const rx = averageRanks(x)
    const ry = averageRanks(y)
    let s = 0
    for (let i = 0; i < n; i++) s += (rx[i] - ry[i]) ** 2
    expect(spearman(x, y)).toBeCloseTo(1 - (6 * s) / (n * (n * n - 1)), 12)
  })

  it("halfwayCrossing finds the midpoint crossing of step functions", () => {
    // Loss 1 -> 0 dropping between steps 20 and 30: midpoint 0.5 reached at 25.
    expect(halfwayCrossing([0, 10, 20, 30, 40], [1, 1, 1, 0, 0])).toBe(25)
    // TD rising 0.25 -> 1 between steps 1 and 2: midpoint 0.625 at 1 + 0.375 / 0.75 = 1.5.
    expect(halfwayCrossing([0, 1, 2, 3], [0.25, 0.25, 1, 1])).toBe(1.5)
    // Two-step descent 1 -> 0.6 -> 0: midpoint 0.5 is crossed in the second drop, between 0.6 and 0.
    expect(halfwayCrossing([0, 10, 20, 30, 40], [1, 0.6, 0.6, 0, 0])).toBeCloseTo(20 + (0.1 / 0.6) * 10, 12)
    // Explicit levels: from 1 to 0 -> midpoint 0.5 between (2, 0.6) and (3, 0.4) -> 2.5.
    expect(halfwayCrossing([0, 1, 2, 3, 4], [1, 0.8, 0.6, 0.4, 0.2], { from: 1, to: 0 })).toBeCloseTo(2.5, 12)
    expect(halfwayCrossing([0, 1, 2], [1, 0.9, 0.8], { from: 1, to: 0 })).toBeNull()
    expect(halfwayCrossing([0, 1, 2], [1, 0.5, 1])).toBeNull()
    expect(() => halfwayCrossing([0, 2, 1], [1, 0.5, 0])).toThrow(/increasing/)
  })

  it("chanceTD is 1 / nClasses", () => {
    expect(chanceTD(7)).toBe(1 / 7)
    expect(() => chanceTD(0)).toThrow()
  })
})
