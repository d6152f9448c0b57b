import { assertBasisTask, sampleSequences, studyOverlappingDefaults, studyTaskDefaults } from "@conceptscope/task-generators"
import { describe, expect, it } from "vitest"
import { activeDims, coordinateOrder, truncateDims } from "../src/stages/shared/curriculum.js"

const quickTask = assertBasisTask({ ...studyTaskDefaults, dim: 8, rank: 2, nExamples: 6 }, "task")

describe("dimension curriculum", () => {
  it("activates startDims, then addDims every everySteps, up to D", () => {
    const c = { startDims: 2, addDims: 3, everySteps: 100, order: "index" as const }
    expect([0, 99, 100, 250, 10_000].map((s) => activeDims(c, 8, s))).toEqual([2, 2, 5, 8, 8])
    expect(activeDims(undefined, 8, 0)).toBe(8)
  })

  it("orders coordinates by index, or by rank within each basis", () => {
    expect(Array.from(coordinateOrder(quickTask, "index"))).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    // disjoint rank-2 bases {0,1} {2,3} {4,5} {6,7}: each basis's first coordinate, then its second
    expect(Array.from(coordinateOrder(quickTask, "basis-rank"))).toEqual([0, 2, 4, 6, 1, 3, 5, 7])
    // overlapping windows {0..3} {2..5} {4..7} {0,1,6,7} (and +8): coordinates 0, 2, 4 open a basis
    const over = coordinateOrder(assertBasisTask(studyOverlappingDefaults, "task"), "basis-rank")
    expect(Array.from(over.subarray(0, 6))).toEqual([0, 2, 4, 8, 10, 12])
    expect(new Set(over).size).toBe(16)
  })

  it("zeroes the inactive coordinates and keeps y = w.x + the same noise on what is left", () => {
    const order = coordinateOrder(quickTask, "basis-rank")
    const full = sampleSequences(quickTask, { n: 32, seed: 5 })
    const cut = truncateDims(sampleSequences(quickTask, { n: 32, seed: 5 }), 4, order)
    const { n, K, D } = full
    const active = new Set(Array.from(order.subarray(0, 4)))
    let maxErr = 0
    for (let i = 0; i < n; i++)
      for (let k = 0; k < K; k++) {
        const at = (i * K + k) * D
        let wxFull = 0
        let wxCut = 0
        for (let j = 0; j < D; j++) {
          wxFull += full.ws[i * D + j] * full.xs[at + j]
          wxCut += cut.ws[i * D + j] * cut.xs[at + j]
          if (!active.has(j)) expect(cut.xs[at + j]).toBe(0)
          else expect(cut.xs[at + j]).toBe(full.xs[at + j])
        }
        maxErr = Math.max(maxErr, Math.abs(cut.ys[i * K + k] - wxCut - (full.ys[i * K + k] - wxFull)))
      }
    expect(maxErr).toBeLessThan(1e-5)
    // every sequence still has a non-zero target on its basis (each basis keeps one coordinate)
    for (let i = 0; i < n; i++) expect(Math.abs(cut.ys[i * K]) + Math.abs(cut.ys[i * K + 1])).toBeGreaterThan(0)
  })
})
