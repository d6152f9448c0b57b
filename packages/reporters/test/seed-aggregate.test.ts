import { describe, expect, it } from "vitest"
import { aggregateSeeds, PATCH_OFF_BASELINE, seedAggregateJson, seedAggregateMarkdown, type Summary, TD_FINAL } from "../src/index.js"
import { median } from "../src/seed-aggregate.js"
import { makeReportInput } from "./fixture.js"

const base = makeReportInput().summary
const withNumbers = (tdFirst: number, tdFinal: number, nmse: number[], ratio: number | null): Summary => ({
  ...base,
  td: { ...base.td, queryToken: { ...base.td.queryToken, first: tdFirst, final: tdFinal } },
  finalNmsePerConcept: nmse,
  coupling: { ...base.coupling, perBasis: base.coupling.perBasis.map((b) => ({ ...b, pValue: 0.01 })) },
  patching:
    ratio === null
      ? null
      : {
          ...base.patching!,
          checkpoints: [{ phase: "final", step: 1, baseline: 0.5, self: 0.5, offDiagonal: 0.5 * ratio, offDiagonalOverBaseline: ratio, selfOverBaseline: 1, offDiagonalOverSelf: ratio }]
        }
})

describe("median", () => {
  it("odd, even, and non-finite values ignored", () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([NaN, 5, Infinity, 1])).toBe(3)
    expect(median([NaN])).toBeNaN()
  })
})

const criteria = { maxFinalNmse: 0.1, maxTdFirstAboveChance: 0.15, minTdFinal: 0.9, minPatchingRatio: 2, maxCouplingPValue: 0.05 }

describe("aggregateSeeds", () => {
  const runs = [
    { seed: 1, summary: withNumbers(0.25, 0.93, [0.04, 0.08, 0.05, 0.03], 2.9) },
    { seed: 2, summary: withNumbers(0.24, 0.87, [0.08, 0.07, 0.09, 0.04], 2.4) },
    { seed: 3, summary: withNumbers(0.45, 0.95, [0.02, 0.2, 0.05, 0.03], null) }
  ]
  const a = aggregateSeeds("emergence", runs, criteria)

  it("puts every seed's value, the median, min and max in each metric row", () => {
    const td = a.metrics.find((m) => m.name === TD_FINAL)!
    expect(td.values).toEqual([0.93, 0.87, 0.95])
    expect([td.median, td.min, td.max]).toEqual([0.93, 0.87, 0.95])
    const worst = a.metrics.find((m) => m.name.startsWith("worst final NMSE"))!
    expect(worst.values).toEqual([0.08, 0.09, 0.2])
    const patch = a.metrics.find((m) => m.name === PATCH_OFF_BASELINE)!
    expect(patch.values[2]).toBeNaN()
    expect(patch.median).toBeCloseTo(2.65, 12)
  })

  it("checks each criterion per seed: only seed 1 meets all five", () => {
    expect(a.perSeed.map((p) => p.allPass)).toEqual([true, false, false])
    expect(a.seedsPassingAll).toBe(1)
    const s2 = a.perSeed[1].checks
    expect(s2.map((c) => c.pass)).toEqual([true, true, false, true, true]) // TD 0.87 < 0.9
    const s3 = a.perSeed[2].checks
    expect(s3.map((c) => c.pass)).toEqual([false, false, true, false, true]) // NMSE 0.2, TD first 0.45 > 0.25 + 0.15, no patching
  })

  it("fails the coupling criterion when one basis's p-value is above the level", () => {
    const s = withNumbers(0.25, 0.93, [0.04, 0.08, 0.05, 0.03], 2.9)
    const weak = { ...s, coupling: { ...s.coupling, perBasis: s.coupling.perBasis.map((b, i) => ({ ...b, pValue: i === 2 ? 0.3 : 0.01 })) } }
    const one = aggregateSeeds("x", [{ seed: 1, summary: weak }], criteria)
    expect(one.perSeed[0].checks.map((c) => c.pass)).toEqual([true, true, true, true, false])
  })

  it("adds the group rows, final and untrained (the null), only when every seed has basis groups", () => {
    expect(a.metrics.some((m) => m.name.startsWith("group TD"))).toBe(false)
    const grouped = (g: number, w: number, x: number): Summary => ({
      ...runs[0].summary,
      td: { ...runs[0].summary.td, groups: { groupTd: g, withinPairwise: w, acrossPairwise: x, atFirst: { step: 0, groupTd: 0.5, withinPairwise: 0.49, acrossPairwise: 0.48 } } }
    })
    const ga = aggregateSeeds("overlapping", [{ seed: 1, summary: grouped(0.74, 0.78, 0.85) }, { seed: 2, summary: grouped(0.82, 0.73, 0.85) }], criteria)
    const row = (name: string) => ga.metrics.find((m) => m.name === name)!.values
    expect(row("group TD final (groups as labels)")).toEqual([0.74, 0.82])
    expect(row("pairwise TD across - within groups (final)").map((v) => +v.toFixed(12))).toEqual([0.07, 0.12])
    expect(row("group TD, untrained model (null)")).toEqual([0.5, 0.5])
    expect(row("pairwise TD across - within groups, untrained model (null)").map((v) => +v.toFixed(12))).toEqual([-0.01, -0.01])
  })

  it("takes other thresholds", () => {
    const loose = aggregateSeeds("emergence", runs, { ...criteria, minTdFinal: 0.85 })
    expect(loose.seedsPassingAll).toBe(2)
  })

  it("writes JSON that keeps NaN as a string and Markdown with one column per seed", () => {
    const json = JSON.parse(seedAggregateJson(a))
    expect(json.metrics.find((m: { name: string }) => m.name === PATCH_OFF_BASELINE).values[2]).toBe("NaN")
    const md = seedAggregateMarkdown(a)
    expect(md).toContain("1 of 3 seed(s) meet every emergence criterion.")
    expect(md).toContain(`| ${TD_FINAL} | 0.93 | 0.87 | 0.95 | 0.93 | 0.87 | 0.95 |`)
    expect(md).toMatch(/query TD final >= 0.9 \| yes \(0.93\) \| no \(0.87\) \| yes \(0.95\)/)
  })

  it("refuses an empty list", () => {
    expect(() => aggregateSeeds("x", [], criteria)).toThrow(/at least one/)
  })
})
