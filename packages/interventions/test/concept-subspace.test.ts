import { describe, expect, it } from "vitest"
import { conceptSubspace, patchInterventions, subspaceShift, withinConceptCovariance } from "../src/index.js"

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i], 0)

describe("concept subspace patching", () => {
  const d = 5
  // three concept means in R^5; their centred span is 2-dimensional
  const means = Float32Array.from([1, 0, 0, 2, 0, 0, 1, 0, 2, 0, -1, -1, 0, 2, 0])

  it("is an orthonormal basis of the centred means' span", () => {
    const Q = conceptSubspace(means, 3, d)
    const r = Q.length / d
    expect(r).toBe(2)
    for (let i = 0; i < r; i++)
      for (let j = 0; j < r; j++) expect(dot(Q.subarray(i * d, (i + 1) * d), Q.subarray(j * d, (j + 1) * d))).toBeCloseTo(i === j ? 1 : 0, 12)
    const grand = [0, 0, 0, 2, 0]
    for (let c = 0; c < 3; c++) {
      const v = Array.from({ length: d }, (_, j) => means[c * d + j] - grand[j])
      const back = new Array(d).fill(0)
      for (let i = 0; i < r; i++) {
        const q = Q.subarray(i * d, (i + 1) * d)
        const a = dot(q, v)
        for (let j = 0; j < d; j++) back[j] += a * q[j]
      }
      back.forEach((x, j) => expect(x).toBeCloseTo(v[j], 10))
    }
  })

  it("moves only the subspace coordinates: a row's own mean plus an orthogonal part keeps everything on self-patch", () => {
    const Q = conceptSubspace(means, 3, d)
    const own = Array.from(means.subarray(0, d))
    // dim 3 (index 3) is constant across means, dim 4 unused: both orthogonal to the subspace
    const row = own.map((x, j) => x + (j === 3 ? 0.7 : j === 4 ? -1.3 : 0))
    subspaceShift(Q, d, own, row).forEach((x) => expect(x).toBeCloseTo(0, 12))
    const toTarget = subspaceShift(Q, d, Array.from(means.subarray(d, 2 * d)), row)
    const patched = row.map((x, j) => x + toTarget[j])
    expect(patched[3]).toBeCloseTo(2.7, 12)
    expect(patched[4]).toBeCloseTo(-1.3, 12)
    for (let i = 0; i < 2; i++) expect(dot(Q.subarray(i * d, (i + 1) * d), patched)).toBeCloseTo(dot(Q.subarray(i * d, (i + 1) * d), means.subarray(d, 2 * d)), 10)
  })

  it("Fisher directions lean away from a direction where rows of one concept vary a lot", () => {
    // two concepts differing along (1, 1); within-concept spread large along x, small along y
    const m2 = Float32Array.from([0, 0, 1, 1])
    const rows: number[] = []
    const labels: number[] = []
    for (let i = 0; i < 200; i++) {
      const c = i % 2
      const t = ((i * 37) % 101) / 101 - 0.5
      const u = ((i * 53) % 97) / 97 - 0.5
      rows.push(c + 4 * t, c + 0.1 * u)
      labels.push(c)
    }
    const S = withinConceptCovariance(Float32Array.from(rows), Int32Array.from(labels), m2, 2)
    expect(S[0]).toBeGreaterThan(100 * S[3])
    const plain = conceptSubspace(m2, 2, 2)
    const fisher = conceptSubspace(m2, 2, 2, { within: S, shrinkage: 0.01 })
    expect(Math.abs(plain[0])).toBeCloseTo(Math.SQRT1_2, 6)
    expect(Math.abs(fisher[1])).toBeGreaterThan(0.99) // almost all weight on the quiet y axis
  })

  it("builds one add intervention per source row, restricted to that row", () => {
    const m = { hook: "blocks.0.hook_resid_post" as const, positions: [4], d, means: [means] }
    const rows = Float32Array.from([...means.subarray(0, d), ...means.subarray(0, d).map((x) => x + 1)])
    const ivs = patchInterventions(m, 0, 2, "subspace", [rows])
    expect(ivs.map((iv) => iv.batch)).toEqual([[0], [1]])
    expect(ivs.every((iv) => iv.op === "add" && iv.positions.length === 1 && iv.positions[0] === 4)).toBe(true)
    expect(() => patchInterventions(m, 0, 2, "fisher", [rows])).toThrow(/within-concept/)
    expect(() => patchInterventions(m, 0, 2, "subspace")).toThrow(/source rows/)
  })
})
