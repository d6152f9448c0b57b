import { describe, expect, it } from "vitest"
import { coupling, findings, lossByStep } from "../src/index.js"

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

  it("couples a TD rise with the loss drops: rank correlation 1 and halfway steps by interpolation", () => {
    const steps = [0, 10, 20, 30]
    const loss = steps.flatMap((step, i) => [
      { step, concept: 0, nmse: [1, 0.8, 0.2, 0.1][i] },
      { step, concept: 1, nmse: [1, 0.9, 0.5, 0.1][i] }
    ])
    const td = steps.map((step, i) => ({ step, td: [0.25, 0.4, 0.8, 0.95][i] }))
    const c = coupling(loss, td, 2)
    expect(c.spearmanPerConcept).toEqual([1, 1])
    expect(c.meanSpearman).toBe(1)
    expect(c.lossHalfwayStep[0]).toBeCloseTo(10 + ((0.55 - 0.8) / (0.2 - 0.8)) * 10, 10)
    expect(c.tdHalfwayStep).toBeCloseTo(10 + ((0.6 - 0.4) / (0.8 - 0.4)) * 10, 10)
  })

  it("states findings from the numbers, never more", () => {
    const td = [
      { step: 0, td: 0.25, perConcept: [0.25, 0.25] },
      { step: 9, td: 0.6, perConcept: [0.95, 0.25] }
    ]
    const criteria = { maxFinalNmse: 0.1, maxTdFirstAboveChance: 0.15, minTdFinal: 0.9, minPatchingRatio: 2 }
    const notes = findings(criteria, [0.05, 0.4], td, 1, 2, { ratio: 1.1, layer: 0, byLayer: [] }, [])
    expect(notes[0]).toMatch(/Learned .*B1; not learned: B2 0\.40/)
    expect(notes[1]).toMatch(/from 0\.25 to 0\.60 .*per-basis TD >= 0\.9 at the end for B1\./)
    expect(notes[2]).toMatch(/only 1\.10x/)
    expect(findings(criteria, [0.01, 0.02], td, 1, 2, { ratio: 3, layer: 0, byLayer: [] }, [])[0]).toMatch(/Every basis was learned/)
    expect(findings({ ...criteria, maxFinalNmse: 0.01 }, [0.01, 0.02], td, 1, 2, null, [])[0]).toMatch(/Learned \(final normalised MSE <= 0.01\): B1; not learned: B2 0\.02/)
  })
})
