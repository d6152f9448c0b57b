import { describe, expect, it } from "vitest"
import type { Summary } from "@conceptscope/reporters"
import { basisCoupling, detectTwoCluster, findings, groupPairwise, lossByStep, patchingNumbers, phaseCheckpoints } from "../src/index.js"
import { splitByConcept } from "../src/stages/probe.js"

describe("report data", () => {
  it("averages per-basis loss over k >= 1 and ignores pooled rows", () => {
    const rows = [
      { step: 0, basis: 0, k: 0, nmse: 9 },
      { step: 0, basis: 0, k: 1, nmse: 1 },
      { step: 0, basis: 0, k: 2, nmse: 0.5 },
      { step: 0, basis: -1, k: 1, nmse: 7 }
    ]
    expect(lossByStep(rows)).toEqual([{ step: 0, concept: 0, nmse: 0.75 }])
  })

  it("couples each basis's loss with its own TD; a basis whose TD never moves is not coupled", () => {
    const steps = Array.from({ length: 20 }, (_, i) => i * 100)
    const drop = (at: number) => steps.map((s) => 1 / (1 + Math.exp((s - at) / 60)))
    const l0 = drop(600)
    const l1 = drop(1200)
    const loss = steps.flatMap((step, i) => [
      { step, concept: 0, nmse: 0.05 + 0.9 * l0[i] },
      { step, concept: 1, nmse: 0.05 + 0.9 * l1[i] }
    ])
    const td = steps.map((step, i) => ({ step, perConcept: [0.25 + 0.7 * (1 - l0[i]), 0.25 + 0.001 * (i % 2)] }))
    const c = basisCoupling(loss, td, 2, { surrogates: 199, seed: 1 })
    expect(c.perBasis[0].pValue).toBeLessThan(0.05)
    expect(Math.abs(c.perBasis[0].lagSteps!)).toBeLessThan(50)
    expect(c.perBasis[1].pValue).toBeGreaterThan(0.05)
    expect(basisCoupling(loss.slice(0, 4), td.slice(0, 2), 2, { surrogates: 9, seed: 1 }).perBasis[0].lossHalfStep).toBeNull()
  })

  it("finds the two-cluster stage in a staircase, and none when bases drop together or never", () => {
    const steps = Array.from({ length: 30 }, (_, i) => i * 100)
    const stair = [0, 1, 2, 3].map((c) => steps.map((s) => 0.05 + 0.95 / (1 + Math.exp((s - (c === 0 ? 500 : 2000)) / 50))))
    const two = detectTwoCluster(steps, stair)!
    expect(two.learned).toEqual([0])
    expect(two.step).toBeGreaterThan(500)
    expect(two.step).toBeLessThan(2000)
    expect(two.lossRatio).toBeGreaterThan(2)
    const together = [0, 1, 2, 3].map(() => steps.map((s) => 0.05 + 0.95 / (1 + Math.exp((s - 1000) / 50))))
    expect(detectTwoCluster(steps, together)).toBeNull()
    expect(detectTwoCluster(steps, [0, 1].map(() => steps.map(() => 1)))).toBeNull()
    expect(phaseCheckpoints([0, 100, 200, 2900], two, { early: true, middleFallback: true }).map((p) => p.phase)).toEqual(["early", "two-cluster", "final"])
    expect(phaseCheckpoints([0, 100, 200, 2900], null, { early: false, middleFallback: false }).map((p) => p.phase)).toEqual(["final"])
    // two checkpoints: early and final are one step, which is named final
    expect(phaseCheckpoints([0, 30], null, { early: true, middleFallback: true })).toEqual([{ step: 0, phase: "middle" }, { step: 30, phase: "final" }])
    expect(phaseCheckpoints([0, 30], null, { early: true, middleFallback: false })).toEqual([{ step: 30, phase: "final" }])
  })

  it("reports patching against the unpatched baseline and the self-patch", () => {
    const n = patchingNumbers({ matrix: [[0.1, 0.8], [0.6, 0.3]], unpatched: [0.1, 0.1] })
    expect(n.baseline).toBeCloseTo(0.1)
    expect(n.self).toBeCloseTo(0.2)
    expect(n.offDiagonal).toBeCloseTo(0.7)
    expect(n.offDiagonalOverBaseline).toBeCloseTo(7)
    expect(n.selfOverBaseline).toBeCloseTo(2)
    expect(n.offDiagonalOverSelf).toBeCloseTo(3.5)
  })

  it("averages pairwise TD within and across groups", () => {
    const pw = [
      [NaN, 0.6, 0.9, 1],
      [0.6, NaN, 0.8, 0.9],
      [0.9, 0.8, NaN, 0.5],
      [1, 0.9, 0.5, NaN]
    ]
    const g = groupPairwise(pw, [0, 0, 1, 1])
    expect(g.withinPairwise).toBeCloseTo(0.55)
    expect(g.acrossPairwise).toBeCloseTo(0.9)
  })

  it("splits each concept's probe sequences in index order into selection and held-out halves", () => {
    const labels = Int32Array.from([0, 1, 0, 1, 0, 1, 1, 0])
    const { selection, heldOut } = splitByConcept(labels, 2, 0.5)
    expect(selection).toEqual([0, 1, 2, 3])
    expect(heldOut).toEqual([4, 5, 6, 7])
  })

  it("states findings from the numbers, never more", () => {
    const perBasis = [0.001, 0.002, 0.001, 0.2].map((pValue, basis) => ({ basis, lossHalfStep: 1000, tdHalfStep: 1100, lagSteps: 100, rateCorrelation: 0.9, pValue, lagPValue: 0.1 }))
    const pn = (phase: string) => ({ phase, step: 10, baseline: 0.1, self: 0.11, offDiagonal: 0.5, offDiagonalOverBaseline: 5, selfOverBaseline: 1.1, offDiagonalOverSelf: 4.5 })
    const s: Summary = {
      config: "x",
      backend: "wasm",
      concepts: ["B1", "B2", "B3", "B4"],
      finalNmsePerConcept: [0.05, 0.4, 0.02, 0.03],
      td: { position: 10, layer: 2, layerChosenOn: "selection split", first: 0.25, final: 0.9, peakLayerAllSequences: 3, queryToken: { position: 10, layer: 2, layerChosenOn: "selection split", first: 0.25, final: 0.9 }, groups: null },
      coupling: { surrogates: 999, perBasis },
      twoCluster: { step: 5, learned: [0], lossRatio: 4 },
      patching: { positions: "query", layer: 2, layerChosenOn: "report layer", checkpoints: [pn("two-cluster"), pn("final")], queryToken: { offDiagonalOverBaseline: 5, selfOverBaseline: 1.1 }, byLayer: [] },
      nmse: { k: 5, step: 10, model: 0.02, leastSquares: 0.3, bayesOracle: 0.01, bayesOptimal: 0.005 },
      artifactKeys: {}
    }
    const criteria = { maxFinalNmse: 0.1, maxTdFirstAboveChance: 0.15, minTdFinal: 0.9, minPatchingRatio: 2, maxCouplingPValue: 0.05 }
    const notes = findings(criteria, { ...s, finalNmsePerConcept: [0.05, 0.4, 0.02, 0.03] }, ["B1", "B2", "B3", "B4"])
    expect(notes[0]).toMatch(/Learned .*B1, B3, B4; not learned: B2 0\.40/)
    expect(notes[1]).toMatch(/Held-out TD at the query token/)
    expect(notes[2]).toMatch(/significant at p <= 0.05 for B1 .*B2 .*B3/)
    expect(notes[2]).not.toMatch(/B4/)
    expect(notes.join(" ")).toMatch(/Two-cluster stage at step/)
    const none = findings(criteria, { ...s, twoCluster: null, finalNmsePerConcept: [0.01, 0.02, 0.03, 0.04] }, ["B1", "B2", "B3", "B4"])
    expect(none[0]).toMatch(/Every concept was learned/)
    expect(none.join(" ")).toMatch(/No two-cluster stage was detected/)
  })
})
