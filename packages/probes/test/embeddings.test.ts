import { beforeAll, describe, expect, it } from "vitest"
import { Matrix, SingularValueDecomposition } from "ml-matrix"
import { Rng } from "@conceptscope/core"
import { pca2, taskDecodability, umap2 } from "../src/index.js"
import { clusters, useWasm } from "./helpers.js"

beforeAll(useWasm)

/** Random orthogonal d x d matrix (QR of a Gaussian matrix via Gram-Schmidt). */
function orthogonal(rng: Rng, d: number): number[][] {
  const cols: number[][] = []
  for (let c = 0; c < d; c++) {
    const v = Array.from({ length: d }, () => rng.normal())
    for (const u of cols) {
      const dot = u.reduce((s, x, i) => s + x * v[i], 0)
      for (let i = 0; i < d; i++) v[i] -= dot * u[i]
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0))
    cols.push(v.map((x) => x / norm))
  }
  return cols // cols[c] = column c
}

/** n samples with covariance R diag(sd^2) R^T plus an offset; returns data and R's columns. */
function knownCovariance(rng: Rng, n: number, sds: number[]) {
  const d = sds.length
  const R = orthogonal(rng, d)
  const X = new Float32Array(n * d)
  for (let i = 0; i < n; i++) {
    const z = sds.map((s) => s * rng.normal())
    for (let m = 0; m < d; m++) X[i * d + m] = 5 + z.reduce((s, zc, c) => s + zc * R[c][m], 0)
  }
  return { X, R, d }
}

/** Reference: SVD of the centred data (float64, ml-matrix), same sign convention. */
function svdReference(X: Float32Array, d: number) {
  const n = X.length / d
  const rows = Array.from({ length: n }, (_, i) => Array.from(X.subarray(i * d, (i + 1) * d)))
  const mean = Array.from({ length: d }, (_, m) => rows.reduce((s, r) => s + r[m], 0) / n)
  const centred = new Matrix(rows.map((r) => r.map((v, m) => v - mean[m])))
  const svd = new SingularValueDecomposition(centred, { autoTranspose: true })
  const s2 = svd.diagonal.map((s) => s * s)
  const total = s2.reduce((a, b) => a + b, 0)
  const comps = [0, 1].map((c) => {
    const v = svd.rightSingularVectors.getColumn(c)
    const big = v.reduce((bi, x, i) => (Math.abs(x) > Math.abs(v[bi]) ? i : bi), 0)
    return v.map((x) => (v[big] < 0 ? -x : x))
  })
  const coords = centred.mmul(new Matrix(comps).transpose()) // [n, 2]
  return { comps, explained: [s2[0] / total, s2[1] / total], coords }
}

describe("pca2", () => {
  const sds = [4, 3, 2, 1, 0.7, 0.5]
  const { X, R, d } = knownCovariance(new Rng(1), 3000, sds)
  const ref = svdReference(X, d)

  for (const [compute, tol] of [["float64", 1e-9], ["tensor", 1e-4]] as const) {
    it(`matches the ml-matrix SVD of the centred data (${compute})`, () => {
      const r = pca2(X, d, { compute })
      for (let c = 0; c < 2; c++) {
        for (let m = 0; m < d; m++) expect(Math.abs(r.components[c * d + m] - ref.comps[c][m])).toBeLessThan(tol)
        expect(Math.abs(r.explained[c] - ref.explained[c])).toBeLessThan(tol)
      }
      for (let i = 0; i < 3000; i += 97) {
        for (let c = 0; c < 2; c++) expect(Math.abs(r.coords[i * 2 + c] - ref.coords.get(i, c))).toBeLessThan(1e-4 + tol * 20)
      }
    })
  }

  it("recovers the known covariance's top axes and variance shares (sampling tolerance)", () => {
    const r = pca2(X, d)
    const total = sds.reduce((s, v) => s + v * v, 0)
    // With n = 3000 the sample axes are within a few degrees of the true ones: |cos| > 0.99.
    for (let c = 0; c < 2; c++) {
      const dot = R[c].reduce((s, x, m) => s + x * r.components[c * d + m], 0)
      expect(Math.abs(dot)).toBeGreaterThan(0.99)
      expect(Math.abs(r.explained[c] - (sds[c] * sds[c]) / total)).toBeLessThan(0.03)
    }
  })

  it("handles d larger than the iteration block and is independent of the start seed", () => {
    const rng = new Rng(2)
    const sd = Array.from({ length: 40 }, (_, i) => 3 * Math.pow(0.85, i))
    const { X: Y, d: dy } = knownCovariance(rng, 300, sd)
    const want = svdReference(Y, dy)
    for (const seed of [0, 7]) {
      const r = pca2(Y, dy, { seed })
      for (let c = 0; c < 2; c++) for (let m = 0; m < dy; m++) expect(Math.abs(r.components[c * dy + m] - want.comps[c][m])).toBeLessThan(1e-7)
    }
  })
})

describe("umap2", () => {
  const { X, labels } = clusters(new Rng(3), 3, 30, 10, 20)

  it("is deterministic for a seed and differs across seeds", () => {
    const a = umap2(X, 10, { seed: 1, nEpochs: 150 })
    const b = umap2(X, 10, { seed: 1, nEpochs: 150 })
    const c = umap2(X, 10, { seed: 2, nEpochs: 150 })
    expect(a.length).toBe(180)
    expect(Array.from(a)).toEqual(Array.from(b))
    expect(Array.from(a)).not.toEqual(Array.from(c))
  })

  it("keeps separated clusters separated", () => {
    const coords = umap2(X, 10, { seed: 4, nEpochs: 200 })
    expect(taskDecodability(coords, labels, 3, { k: 10 }).td).toBe(1)
    // Every cluster's points are closer to their own centroid than to any other centroid.
    const centroid = [0, 1, 2].map((c) => {
      const idx = Array.from(labels, (_, i) => i).filter((i) => labels[i] === c)
      return [0, 1].map((k) => idx.reduce((s, i) => s + coords[i * 2 + k], 0) / idx.length)
    })
    for (let i = 0; i < 90; i++) {
      const dist = centroid.map(([x, y]) => Math.hypot(coords[i * 2] - x, coords[i * 2 + 1] - y))
      expect(dist.indexOf(Math.min(...dist))).toBe(labels[i])
    }
  })
})
