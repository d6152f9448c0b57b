import type { Intervention } from "@conceptscope/core"
import { describe, expect, it } from "vitest"
import { conceptMeans, diagonalStats, patchingMatrix, patchInterventions, type PositionedMeans } from "../src/index.js"

describe("concept means", () => {
  it("averages rows per label", () => {
    const v = new Float32Array([1, 2, 3, 4, 10, 20, 5, 6]) // [4, 2]
    const l = new Int32Array([0, 0, 1, 0])
    expect(Array.from(conceptMeans(v, l, 2, 2))).toEqual([3, 4, 10, 20])
    expect(Number.isNaN(conceptMeans(v, l, 3, 2)[4])).toBe(true)
    expect(() => conceptMeans(v, new Int32Array([0, 0, 5, 0]), 2, 2)).toThrow(/label 5 of row 2/)
  })
})

describe("patching", () => {
  const means: PositionedMeans = {
    hook: "blocks.1.hook_resid_post",
    positions: [1, 3],
    d: 2,
    means: [new Float32Array([0, 0, 1, 1]), new Float32Array([0, 0, 2, 2])]
  }
  it("builds replace, add and mean-diff interventions per position", () => {
    expect(patchInterventions(means, 0, 1, "replace")).toEqual([
      { hook: "blocks.1.hook_resid_post", positions: [1], op: "replace", vector: [1, 1] },
      { hook: "blocks.1.hook_resid_post", positions: [3], op: "replace", vector: [2, 2] }
    ])
    expect(patchInterventions(means, 1, 0, "mean-diff")[1].vector).toEqual([-2, -2])
    expect(patchInterventions(means, 0, 1, "add")[0]).toMatchObject({ op: "add", vector: [1, 1] })
  })
  it("scores every source x target cell against a toy runner whose error is the distance moved", async () => {
    // Toy model: a source row's "prediction" error equals the squared distance between the
    // patched vectors and the source's own means (so self-patching is neutral, cross-patching costs).
    const run = async (s: number, ivs: readonly Intervention[]) => {
      let err = 0
      ivs.forEach((iv, p) => {
        const own = Array.from(means.means[p].subarray(s * 2, s * 2 + 2))
        err += iv.vector!.reduce((a, x, j) => a + (x - own[j]) ** 2, 0)
      })
      return new Float32Array([err])
    }
    const r = await patchingMatrix(means, 2, "replace", run, (_s, preds) => preds[0])
    expect(r.matrix).toEqual([[0, 10], [10, 0]])
    expect(r.unpatched).toEqual([0, 0])
    expect(r.diagonalMean).toBe(0)
    expect(r.offDiagonalMean).toBe(10)
    expect(diagonalStats([[1, 2], [3, 4]])).toEqual({ diagonalMean: 2.5, offDiagonalMean: 2.5 })
  })
})
