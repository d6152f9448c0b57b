import { describe, expect, it } from "vitest"
import { familyFindings, type FamilySummary, promptingMargin } from "../src/stages/shared/llm-summary.js"

/** One family's numbers with everything but the prompting condition fixed. */
const base = (prompting: FamilySummary["prompting"]): Omit<FamilySummary, "findings"> => ({
  peakLayer: 1,
  peakChosenOn: "selection half",
  nLayers: 4,
  td: { "1": 0.3, "4": 0.4 },
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
