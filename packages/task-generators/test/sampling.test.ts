import { describe, expect, it } from "vitest"
import {
  basisMasks,
  fromRows,
  makeBatchSampler,
  sampleSequences,
  studyOverlappingDefaults,
  studyTaskDefaults,
  toRows,
  weightPool,
  type RegressionBatch,
  type RegressionTaskParams
} from "../src/index.js"

const bytes = (b: RegressionBatch) =>
  [b.seqIds, b.basis, b.xs, b.ys, b.ws].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex"))

describe("sampling", () => {
  const p = studyTaskDefaults

  it("is deterministic in the seed and differs across seeds", () => {
    const a = sampleSequences(p, { n: 64, seed: 11 })
    const b = sampleSequences(p, { n: 64, seed: 11 })
    const c = sampleSequences(p, { n: 64, seed: 12 })
    expect(bytes(a)).toEqual(bytes(b))
    const [, basisA, xsA, ysA, wsA] = bytes(a)
    const [, basisC, xsC, ysC, wsC] = bytes(c)
    expect(basisA).not.toBe(basisC)
    expect(xsA).not.toBe(xsC)
    expect(ysA).not.toBe(ysC)
    expect(wsA).not.toBe(wsC)
    expect([a.n, a.K, a.D, a.xs.length, a.ys.length, a.ws.length]).toEqual([64, 20, 16, 64 * 20 * 16, 64 * 20, 64 * 16])
  })

  it("streams batches deterministically, continuing seq ids, equal to sampleSequences for the first", () => {
    const s1 = makeBatchSampler(p, 5)
    const s2 = makeBatchSampler(p, 5)
    const a1 = s1.next(32), a2 = s1.next(16)
    const b1 = s2.next(32), b2 = s2.next(16)
    expect(bytes(a1)).toEqual(bytes(b1))
    expect(bytes(a2)).toEqual(bytes(b2))
    expect(bytes(a1)[2]).not.toBe(bytes(a2)[2].slice(0, bytes(a1)[2].length))
    expect(Array.from(a2.seqIds)).toEqual(Array.from({ length: 16 }, (_, i) => 32 + i))
    expect(bytes(sampleSequences(p, { n: 32, seed: 5 }))).toEqual(bytes(a1))
  })

  it("uses separate streams: changing the noise changes only y", () => {
    const a = sampleSequences(p, { n: 50, seed: 3 })
    const b = sampleSequences({ ...p, noiseVariance: 0.5 }, { n: 50, seed: 3 })
    expect(bytes(a)[1]).toBe(bytes(b)[1])
    expect(bytes(a)[2]).toBe(bytes(b)[2])
    expect(bytes(a)[4]).toBe(bytes(b)[4])
    expect(bytes(a)[3]).not.toBe(bytes(b)[3])
  })

  it("w is zero outside the basis mask and y = w.x + noise of the right variance", () => {
    for (const params of [p, studyOverlappingDefaults] as RegressionTaskParams[]) {
      const b = sampleSequences(params, { n: 2000, seed: 9 })
      const mask = basisMasks(params)
      let nonzeroInside = 0
      let nonzeroOutside = 0
      let res2 = 0
      for (let i = 0; i < b.n; i++) {
        for (let c = 0; c < b.D; c++) {
          const w = b.ws[i * b.D + c]
          if (!mask[b.basis[i] * b.D + c]) nonzeroOutside += w !== 0 ? 1 : 0
          else if (w !== 0) nonzeroInside++
        }
        for (let k = 0; k < b.K; k++) {
          let dot = 0
          for (let c = 0; c < b.D; c++) dot += b.ws[i * b.D + c] * b.xs[(i * b.K + k) * b.D + c]
          res2 += (b.ys[i * b.K + k] - dot) ** 2
        }
      }
      expect(nonzeroOutside).toBe(0)
      expect(nonzeroInside).toBe(b.n * params.rank)
      // 40000 residuals: sd of the variance estimate ~ 0.01 * sqrt(2 / 40000) = 7e-5
      expect(res2 / (b.n * b.K)).toBeCloseTo(0.01, 3)
    }
  })

  it("y has variance weightScale^2 * r + noiseVariance, x is standard normal", () => {
    for (const [weightScale, rank, expected] of [[1, 4, 4.01], [0.5, 2, 0.51], [2, 4, 16.01]]) {
      const params = { ...p, weightScale, rank, nExamples: 5 }
      const b = sampleSequences(params, { n: 8000, seed: 21 })
      let yy = 0
      for (const y of b.ys) yy += y * y
      // per-sequence mean of y^2 has sd ~ sqrt(2 r + 2 r^2 / K) * scale^2; 8000 sequences -> < 2% of the mean
      expect(Math.abs(yy / b.ys.length - expected) / expected).toBeLessThan(0.05)
    }
    const b = sampleSequences(p, { n: 1000, seed: 2 })
    let m = 0, v = 0
    for (const x of b.xs) m += x
    m /= b.xs.length
    for (const x of b.xs) v += (x - m) ** 2
    expect(Math.abs(m)).toBeLessThan(0.01)
    expect(Math.abs(v / b.xs.length - 1)).toBeLessThan(0.01)
  })

  it("basis draws: balanced gives exactly n / nBases each; uniform passes a chi-square check", () => {
    const bal = sampleSequences(p, { n: 400, seed: 4, basisBalanced: true })
    const counts = [0, 0, 0, 0]
    for (const b of bal.basis) counts[b]++
    expect(counts).toEqual([100, 100, 100, 100])
    expect(Array.from(bal.basis.subarray(0, 100)).every((b) => b === 0)).toBe(false) // shuffled
    const uni = sampleSequences({ ...p, nExamples: 1 }, { n: 8000, seed: 4 })
    const c = [0, 0, 0, 0]
    for (const b of uni.basis) c[b]++
    const chi2 = c.reduce((s, o) => s + (o - 2000) ** 2 / 2000, 0)
    expect(chi2).toBeLessThan(16.3) // p = 0.001 for 3 degrees of freedom
  })

  it("pool mode reuses exactly M vectors per basis, drawn from the pool seed", () => {
    for (const M of [1, 3]) {
      const params: RegressionTaskParams = { ...p, weightPool: { kind: "pool", size: M, seed: 77 } }
      const pool = weightPool(params)!
      expect(pool.length).toBe(4 * M * 16)
      const b = sampleSequences(params, { n: 600, seed: 8 })
      const b2 = sampleSequences(params, { n: 600, seed: 9 }) // other data seed, same pool
      for (const batch of [b, b2]) {
        const seen = new Map<number, Set<string>>()
        for (let i = 0; i < batch.n; i++) {
          const key = Array.from(batch.ws.subarray(i * 16, (i + 1) * 16)).join(",")
          const s = seen.get(batch.basis[i]) ?? new Set<string>()
          s.add(key)
          seen.set(batch.basis[i], s)
        }
        for (let basis = 0; basis < 4; basis++) {
          const expected = new Set(
            Array.from({ length: M }, (_, m) => Array.from(pool.subarray((basis * M + m) * 16, (basis * M + m + 1) * 16)).join(","))
          )
          expect(expected.size).toBe(M)
          expect(seen.get(basis)).toEqual(expected)
        }
      }
    }
    const other = weightPool({ ...p, weightPool: { kind: "pool", size: 3, seed: 78 } })!
    expect(Array.from(other)).not.toEqual(Array.from(weightPool({ ...p, weightPool: { kind: "pool", size: 3, seed: 77 } })!))
    expect(weightPool(p)).toBeNull()
  })

  it("toRows gives the Parquet columns and fromRows inverts it", () => {
    const b = sampleSequences(p, { n: 7, seed: 1 })
    const rows = toRows(b)
    expect(rows.columns.map((c) => [c.name, c.type, c.type === "float32" ? c.listSize : 1])).toEqual([
      ["seq_id", "int32", 1], ["basis", "int32", 1], ["x", "float32", 320], ["y", "float32", 20], ["w", "float32", 16]
    ])
    for (const c of rows.columns) expect(c.data.length).toBe(7 * (c.type === "float32" ? c.listSize : 1))
    // row 3's x vector is sequence 3's [K, D] block
    const x = rows.columns[2].data as Float32Array
    expect(x[3 * 320 + 5 * 16 + 2]).toBe(b.xs[(3 * 20 + 5) * 16 + 2])
    expect(bytes(fromRows(rows))).toEqual(bytes(b))
    expect(() => fromRows({ ...rows, columns: rows.columns.slice(0, 4) })).toThrow(/w/)
  })
})

describe("normalised pools", () => {
  it("rescales every pool vector to squared norm r * scale^2 and keeps its direction", async () => {
    const { weightPool } = await import("../src/index.js")
    const base = { dim: 8, nBases: 4, rank: 2, layout: "disjoint" as const, groups: 2, noiseVariance: 0.01, nExamples: 6, weightScale: 1.5 }
    const raw = weightPool({ ...base, weightPool: { kind: "pool", size: 3, seed: 7 } })!
    const unit = weightPool({ ...base, weightPool: { kind: "pool", size: 3, seed: 7, normalize: true } })!
    for (let v = 0; v < 12; v++) {
      const a = raw.subarray(v * 8, v * 8 + 8)
      const b = unit.subarray(v * 8, v * 8 + 8)
      const nb = b.reduce((s, x) => s + x * x, 0)
      expect(nb).toBeCloseTo(2 * 1.5 ** 2, 4)
      const na = Math.sqrt(a.reduce((s, x) => s + x * x, 0))
      for (let j = 0; j < 8; j++) expect(b[j]).toBeCloseTo((a[j] / na) * Math.sqrt(nb), 5)
    }
  })
})
