import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { Rng } from "@conceptscope/core"
import { linearProbe, ProbeInputError } from "../src/index.js"
import { stratifiedSplit } from "../src/linear-probe.js"
import { clusters, randomLabelled, useWasm } from "./helpers.js"

beforeAll(useWasm)

describe("linearProbe", () => {
  it("reaches ~1.0 test accuracy on linearly separable clusters", () => {
    const { X, labels } = clusters(new Rng(1), 4, 50, 20, 4)
    const r = linearProbe(X, labels, 4, { seed: 1 })
    expect(r.testAcc).toBeGreaterThanOrEqual(0.98)
    expect(r.trainAcc).toBe(1)
    expect(r.perClassTest.every((a) => a >= 0.9)).toBe(true)
  })

  it("is ~chance on random labels, even when it fits the training set", () => {
    // 3 classes, d = 150 > n_train = 105: the probe can fit the training labels, but each test set of
    // 45 points has accuracy sd ~ sqrt(1/3 * 2/3 / 45) = 0.07; the mean of 6 seeds has sd ~ 0.03,
    // so +-0.12 around 1/3 is 4 sd.
    const accs = [0, 1, 2, 3, 4, 5].map((s) => {
      const { X, labels } = randomLabelled(new Rng(50 + s), 150, 150, 3)
      const r = linearProbe(X, labels, 3, { seed: s, steps: 200 })
      expect(r.trainAcc).toBeGreaterThan(0.9)
      return r.testAcc
    })
    const mean = accs.reduce((a, b) => a + b, 0) / accs.length
    expect(Math.abs(mean - 1 / 3)).toBeLessThan(0.12)
  })

  it("primal and dual solvers agree (same iterates up to the curvature estimate)", () => {
    for (const d of [12, 200]) {
      const { X, labels } = clusters(new Rng(6 + d), 3, 40, d, d === 12 ? 0.8 : 0.25)
      const p = linearProbe(X, labels, 3, { seed: 2, solver: "primal" })
      const q = linearProbe(X, labels, 3, { seed: 2, solver: "dual" })
      expect(Math.abs(p.trainAcc - q.trainAcc)).toBeLessThanOrEqual(1 / 84)
      expect(Math.abs(p.testAcc - q.testAcc)).toBeLessThanOrEqual(1 / 36)
      expect(p.testAcc).toBeGreaterThan(0.6)
    }
  })

  it("is deterministic per seed and leaks no tensors", () => {
    const { X, labels } = clusters(new Rng(2), 3, 30, 10, 1)
    const before = tf.memory().numTensors
    const a = linearProbe(X, labels, 3, { seed: 9 })
    const b = linearProbe(X, labels, 3, { seed: 9 })
    expect(a).toEqual(b)
    expect(tf.memory().numTensors).toBe(before)
  })

  it("splits each class with round(testFraction * size) test points, disjoint and complete", () => {
    const labels = Int32Array.from([...new Array(10).fill(0), ...new Array(7).fill(1), ...new Array(1).fill(2)])
    const { train, test } = stratifiedSplit(labels, 3, 0.3, new Rng(4))
    const count = (idx: Int32Array, c: number) => Array.from(idx).filter((i) => labels[i] === c).length
    expect([count(test, 0), count(test, 1), count(test, 2)]).toEqual([3, 2, 0])
    expect([...train, ...test].sort((x, y) => x - y)).toEqual(Array.from(labels, (_, i) => i))
    const other = stratifiedSplit(labels, 3, 0.3, new Rng(5))
    expect(Array.from(other.test)).not.toEqual(Array.from(test))
  })

  it("rejects bad options", () => {
    const { X, labels } = clusters(new Rng(3), 2, 5, 3, 1)
    expect(() => linearProbe(X, labels, 2, { seed: 1, testFraction: 1.5 })).toThrow(ProbeInputError)
    expect(() => linearProbe(X, labels, 2, { seed: 1, steps: 0 })).toThrow(/steps/)
  })
})
