import { describe, expect, it } from "vitest"
import { familyFindings, type FamilySummary, promptingMargin } from "../src/stages/shared/llm-summary.js"

/** One family's numbers with everything but the prompting condition fixed. */
const base = (prompting: FamilySummary["prompting"]): Omit<FamilySummary, "findings"> => ({
  peakLayer: 1,
  peakChosenOn: "selection half",
  nLayers: 4,
  td: { "1": 0.3, "4": 0.4 },
  tdHeldOutPoints: 350,
  accuracy: { "1": 0.2, "4": 0.5 },
  perConcept: [],
  tdAccuracyR2: 0.6,
  tdAccuracyFit: { slope: 1, intercept: 0, points: 12 },
  tdByLayer: {},
  taskVectors: { layer: 1, shots: 1, replicates: 1, perConcept: [], halves: [] },
  prompting,
  table1: null,
  trajectory: null,
  heads: null
})
const held = (p: FamilySummary["prompting"]) => familyFindings("bitwise", base(p)).find((f) => f.id === "bitwise.prompting")!

describe("the inner-peak finding", () => {
  it("needs TD at the peak above chance by two binomial standard errors", () => {
    // six concepts and Null: chance 1/7
    const six = (td: Record<string, number>, peakLayer = 1) =>
      familyFindings("bitwise", { ...base(null), td, peakLayer, perConcept: ["A", "B", "C", "D", "E", "F"].map((label) => ({ label, shots: 1, td: 0, accuracy: 0 })) }).find((f) => f.id === "bitwise.peak-inner")!
    // chance 1/7, n 350: margin 2 sqrt((1/7)(6/7)/350) = 0.0374
    expect(six({ "1": 0.14, "4": 0.18 }).held).toBe(false)
    expect(six({ "1": 0.14, "4": 0.19 }).held).toBe(true)
    expect(six({ "1": 0.14, "4": 0.18 }).numbers).toMatch(/chance 0\.143 \(a peak of TD within 2 binomial SEs of chance, 0\.180, is no peak\)/)
    expect(six({ "1": 0.5, "4": 0.6 }, 3).held).toBe(false) // the last layer of 0..3
    expect(six({ "1": 0.5, "4": 0.6 }, 0).held).toBe(false) // the first
  })
})

describe("the prompting finding", () => {
  it("needs a rise of held-out TD beyond two binomial standard errors", () => {
    // p = 0.5 both, n = 350: 2 sqrt(0.5 / 350) = 0.0756
    expect(promptingMargin({ td: 0.5, iclTd: 0.5, heldOutPoints: 350 })).toBeCloseTo(2 * Math.sqrt(0.5 / 350), 12)
    const p = { shots: 4, accuracy: 0.5, iclAccuracy: 0.4, heldOutPoints: 350 }
    expect(held({ ...p, iclTd: 0.5, td: 0.57 }).held).toBe(false)
    expect(held({ ...p, iclTd: 0.5, td: 0.58 }).held).toBe(true)
    // a rounding difference at chance is not a rise
    expect(held({ ...p, iclTd: 0.06, td: 0.0601 }).held).toBe(false)
    expect(held({ ...p, iclTd: 0.5, td: 0.58 }).numbers).toMatch(/TD 0\.500 -> 0\.580 \(needs a rise above 0\.075, 2 binomial SEs over 350 held-out prompts each\)/)
    expect(held(null).held).toBeNull()
  })
})
