import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { Rng } from "@conceptscope/core"
import { chanceTD, pairwiseTD, ProbeInputError, taskDecodability } from "../src/index.js"
import { backendDistances, CANDIDATE_TOLERANCE, ExactDistance } from "../src/distances.js"
import { nearestOthers } from "../src/neighbours.js"
import { vote } from "../src/vote.js"
import { bruteDistance, brutePairwise, bruteTD } from "./brute-force.js"
import { clusters, integerPoints, randomLabelled, useWasm } from "./helpers.js"

beforeAll(useWasm)

describe("taskDecodability", () => {
  it("is 1 on well separated clusters (both metrics)", () => {
    const { X, labels } = clusters(new Rng(1), 4, 30, 8, 100)
    for (const metric of ["euclidean", "cosine"] as const) {
      const r = taskDecodability(X, labels, 4, { metric })
      expect(r.td).toBe(1)
      expect(r.accuracy).toBe(1)
      expect(r.perClass).toEqual([1, 1, 1, 1])
      expect(Array.from(r.predictions)).toEqual(Array.from(labels))
    }
  })

  it("is near chance on random labels with random points", () => {
    // 4 classes x 50 points: the TD of one run has sd ~ sqrt(p(1-p)/200) = 0.031 around p ~ 1/4
    // (slightly below: a point's own class has one member fewer among the others, 49/199 = 0.246);
    // the mean of 5 independent runs has sd ~ 0.014, so +-0.06 is more than 4 sd.
    const tds = [0, 1, 2, 3, 4].map((s) => {
      const rng = new Rng(100 + s)
      const X = rng.normals(200 * 16)
      const labels = Int32Array.from(rng.shuffle(Array.from({ length: 200 }, (_, i) => i % 4)))
      return taskDecodability(X, labels, 4).td
    })
    const mean = tds.reduce((a, b) => a + b, 0) / tds.length
    expect(Math.abs(mean - chanceTD(4))).toBeLessThan(0.06)
  })

  const cases: Array<{ name: string; make: (rng: Rng) => { X: Float32Array; labels: Int32Array }; C: number; ks: number[] }> = [
    { name: "gaussian floats", make: (r) => randomLabelled(r, 40, 5, 3), C: 3, ks: [1, 4, 10, 39] },
    { name: "integer grid 0..2 (distance ties)", make: (r) => integerPoints(r, 50, 3, 0, 2, 3), C: 3, ks: [2, 4, 10] },
    { name: "integer -1..1 with zero vectors", make: (r) => integerPoints(r, 45, 2, -1, 1, 4), C: 4, ks: [1, 6, 10] },
    { name: "binary, heavy duplicates", make: (r) => integerPoints(r, 60, 2, 0, 1, 2), C: 2, ks: [2, 10, 30] }
  ]
  for (const c of cases) {
    for (const metric of ["euclidean", "cosine"] as const) {
      it(`equals brute force exactly: ${c.name}, ${metric}`, () => {
        for (let s = 0; s < 3; s++) {
          const { X, labels } = c.make(new Rng(1000 + s))
          for (const k of c.ks) {
            const got = taskDecodability(X, labels, c.C, { k, metric })
            const want = bruteTD(X, labels, c.C, k, metric)
            expect(Array.from(got.predictions)).toEqual(Array.from(want.predictions))
            expect(got.perClass).toEqual(want.perClass)
            expect(got.td).toBe(want.td)
          }
        }
      })
    }
  }

  it("gives the same answer with small row blocks (several backend blocks)", () => {
    const { X, labels } = integerPoints(new Rng(7), 53, 3, 0, 3, 3)
    const whole = taskDecodability(X, labels, 3, { k: 6 })
    for (const blockRows of [1, 7, 20]) {
      expect(Array.from(taskDecodability(X, labels, 3, { k: 6, blockRows }).predictions)).toEqual(Array.from(whole.predictions))
    }
    expect(Array.from(whole.predictions)).toEqual(Array.from(bruteTD(X, labels, 3, 6, "euclidean").predictions))
  })

  it("never counts a point as its own neighbour (duplicates with different labels)", () => {
    const rng = new Rng(3)
    const base = rng.normals(10 * 4, 10) // [10, 4]
    const X = new Float32Array(20 * 4) // [20, 4]: rows 2m and 2m+1 are identical
    for (let m = 0; m < 10; m++) {
      X.set(base.subarray(m * 4, m * 4 + 4), 2 * m * 4)
      X.set(base.subarray(m * 4, m * 4 + 4), (2 * m + 1) * 4)
    }
    const labels = new Int32Array(20).map((_, i) => i % 2)
    // k = 1: the nearest other point is the twin at distance 0, which has the other label.
    const r = taskDecodability(X, labels, 2, { k: 1 })
    expect(r.accuracy).toBe(0)
    const nb = nearestOthers(X, { n: 20, d: 4 }, 3, "euclidean")
    for (let i = 0; i < 20; i++) {
      expect(nb.indices[i * 3]).toBe(i ^ 1)
      for (let t = 0; t < 3; t++) expect(nb.indices[i * 3 + t]).not.toBe(i)
    }
  })

  it("breaks neighbour ties at equal distance by the smaller index", () => {
    // 1-D points: 0 at index 0; +1 at indices 1 and 3; -1 at index 2.
    const X = Float32Array.from([0, 1, -1, 1, 5])
    const nb = nearestOthers(X, { n: 5, d: 1 }, 2, "euclidean")
    expect(Array.from(nb.indices.subarray(0, 2))).toEqual([1, 2])
    expect(Array.from(nb.indices.subarray(2, 4))).toEqual([3, 0]) // index 1: twin 3 at 0, then 0 at 1
  })

  it("applies the vote tie rule: most votes, then smallest summed distance, then smallest label", () => {
    const labels = Int32Array.from([2, 0, 1, 0, 2])
    const counts = new Int32Array(3)
    const sums = new Float64Array(3)
    const v = (idx: number[], dist: number[]) => vote(labels, Int32Array.from(idx), Float64Array.from(dist), 0, idx.length, counts, sums)
    expect(v([1, 2, 3], [1, 2, 3])).toBe(0) // two votes for 0
    expect(v([2, 1], [1, 2])).toBe(1) // 1:1, class 1 is closer
    expect(v([0, 2], [1, 1])).toBe(1) // 1:1 at equal sums -> smaller label
    expect(v([1, 2, 4, 0], [1, 4, 2, 2])).toBe(2) // 0:1, 1:1, 2:2 -> class 2
    expect(v([1, 3, 0, 4], [1, 4, 2, 3])).toBe(0) // 0: sum 5, 2: sum 5 -> smaller label 0
  })

  it("float32 backend distances stay well inside the candidate slack", () => {
    const rng = new Rng(11)
    const n = 120
    const d = 1024
    const X = rng.normals(n * d)
    for (let t = 0; t < X.length; t++) X[t] += 30 // large shared offset
    const shape = { n, d }
    for (const metric of ["euclidean", "cosine"] as const) {
      const exact = new ExactDistance(X, shape, metric)
      const dist = backendDistances(X, shape, metric)
      const block = dist.block(0, n)
      const D = block.dataSync()
      block.dispose()
      let worst = 0
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (i === j) continue
          const e = exact.between(i, j)
          const ref = metric === "euclidean" ? e * e : e
          worst = Math.max(worst, Math.abs(D[i * n + j] - ref) / dist.tol[i])
        }
      }
      dist.dispose()
      expect(worst).toBeLessThan(0.05) // error below 5% of the slack
      expect(bruteDistance(X, d, 3, 4, metric)).toBe(exact.between(3, 4))
    }
    expect(CANDIDATE_TOLERANCE).toBeGreaterThan(0)
  })

  it("works on whichever backend is active (cpu here)", async () => {
    const { X, labels } = integerPoints(new Rng(9), 40, 3, 0, 2, 3)
    await tf.setBackend("cpu")
    try {
      const got = taskDecodability(X, labels, 3, { k: 4 })
      expect(Array.from(got.predictions)).toEqual(Array.from(bruteTD(X, labels, 3, 4, "euclidean").predictions))
      expect(pairwiseTD(X, labels, 3, { k: 4, metric: "cosine" })).toEqual(brutePairwise(X, labels, 3, 4, "cosine"))
    } finally {
      await useWasm()
    }
  })

  it("rejects malformed inputs with ProbeInputError", () => {
    const X = new Float32Array(6)
    expect(() => taskDecodability(X, Int32Array.from([0, 1, 2]), 2)).toThrow(ProbeInputError)
    expect(() => taskDecodability(X.subarray(0, 5), Int32Array.from([0, 1, 0]), 2)).toThrow(/not a positive multiple/)
    expect(() => taskDecodability(Float32Array.from([0, NaN, 1, 2]), Int32Array.from([0, 1]), 2)).toThrow(/non-finite/)
    expect(() => taskDecodability(X, Int32Array.from([0, 1, 0]), 2, { k: 0 })).toThrow(/k/)
  })

  it("leaks no tensors", () => {
    const { X, labels } = clusters(new Rng(5), 3, 20, 6, 3)
    const before = tf.memory().numTensors
    taskDecodability(X, labels, 3)
    pairwiseTD(X, labels, 3)
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe("pairwiseTD", () => {
  it("equals brute force on random and tied sets, k odd and even, both metrics", () => {
    const sets = [randomLabelled(new Rng(21), 45, 4, 4), integerPoints(new Rng(22), 48, 2, 0, 3, 3), integerPoints(new Rng(23), 40, 3, -1, 1, 4)]
    for (const { X, labels } of sets) {
      const C = Math.max(...labels) + 1
      for (const metric of ["euclidean", "cosine"] as const) {
        for (const k of [1, 4, 10]) {
          const got = pairwiseTD(X, labels, C, { k, metric })
          expect(got).toEqual(brutePairwise(X, labels, C, k, metric))
        }
      }
    }
  })

  it("is symmetric with unit diagonal, 1 off-diagonal on separated clusters and NaN for empty classes", () => {
    const { X, labels } = clusters(new Rng(31), 3, 15, 5, 50)
    const M = pairwiseTD(X, labels, 4)
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) expect(M[a][b]).toBe(1)
    expect(M[3].every(Number.isNaN)).toBe(true)
    expect(M[0][3]).toBeNaN()
  })
})
