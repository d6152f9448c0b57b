import { describe, expect, it } from "vitest"
import { basisGroups, basisMasks, basisSupports, studyOverlappingDefaults, studyTaskDefaults, type RegressionTaskParams } from "../src/index.js"

const rowsOf = (mask: Uint8Array, nBases: number, dim: number) =>
  Array.from({ length: nBases }, (_, b) => Array.from(mask.subarray(b * dim, (b + 1) * dim)))
const coordsOf = (row: number[]) => row.flatMap((v, i) => (v ? [i] : []))

describe("basis masks", () => {
  it("disjoint: basis b owns [b*r, (b+1)*r), no overlaps", () => {
    for (const [dim, nBases, rank] of [[16, 4, 4], [24, 6, 4], [16, 3, 5], [10, 2, 1]]) {
      const p: RegressionTaskParams = { ...studyTaskDefaults, dim, nBases, rank }
      const rows = rowsOf(basisMasks(p), nBases, dim)
      const owner = new Array(dim).fill(-1)
      rows.forEach((row, b) => {
        expect(coordsOf(row)).toEqual(Array.from({ length: rank }, (_, t) => b * rank + t))
        for (const c of coordsOf(row)) {
          expect(owner[c]).toBe(-1)
          owner[c] = b
        }
      })
      expect(owner.filter((o) => o >= 0).length).toBe(nBases * rank)
    }
  })

  it("overlapping, study variant: stride-2 windows, bases 0-3 in dims 0-7, 4-7 in dims 8-15", () => {
    const rows = rowsOf(basisMasks(studyOverlappingDefaults), 8, 16).map(coordsOf)
    expect(rows).toEqual([
      [0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7], [0, 1, 6, 7],
      [8, 9, 10, 11], [10, 11, 12, 13], [12, 13, 14, 15], [8, 9, 14, 15]
    ])
    expect(Array.from(basisGroups(studyOverlappingDefaults))).toEqual([0, 0, 0, 0, 1, 1, 1, 1])
  })

  it("overlapping, many settings: each basis in its group, r coords, all distinct, m per group", () => {
    for (const [dim, groups, nBases, rank] of [
      [16, 2, 8, 4], [16, 2, 4, 3], [12, 3, 6, 2], [16, 4, 8, 3], [9, 1, 9, 8], [8, 2, 2, 4], [20, 2, 10, 1], [24, 3, 6, 7]
    ]) {
      const p: RegressionTaskParams = { ...studyTaskDefaults, layout: "overlapping", dim, groups, nBases, rank }
      const g = dim / groups
      const m = nBases / groups
      const rows = rowsOf(basisMasks(p), nBases, dim).map(coordsOf)
      const perGroup = new Array(groups).fill(0)
      const seen = new Set<string>()
      rows.forEach((coords, b) => {
        expect(coords.length).toBe(rank)
        const q = Math.floor(coords[0] / g)
        for (const c of coords) expect(Math.floor(c / g)).toBe(q)
        expect(q).toBe(Math.floor(b / m))
        expect(basisGroups(p)[b]).toBe(q)
        perGroup[q]++
        seen.add(coords.join(","))
      })
      expect(seen.size).toBe(nBases)
      expect(perGroup).toEqual(new Array(groups).fill(m))
      // supports agree with masks
      const sup = basisSupports(p)
      rows.forEach((coords, b) => expect(Array.from(sup.subarray(b * rank, (b + 1) * rank))).toEqual(coords))
    }
  })
})
