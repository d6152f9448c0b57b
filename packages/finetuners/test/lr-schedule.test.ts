import { describe, expect, it } from "vitest"
import { constantLr, learningRateAt } from "../src/index.js"

describe("learningRateAt", () => {
  const lr = 1e-3
  it("constant is lr at every step", () => {
    for (const s of [0, 1, 500, 999]) expect(learningRateAt(constantLr, lr, s, 1000)).toBe(lr)
  })
  it("warmup rises linearly from lr/w and never returns 0", () => {
    const sch = { decay: "constant" as const, warmupSteps: 10, finalFactor: 1 }
    expect(learningRateAt(sch, lr, 0, 1000)).toBeCloseTo(lr / 10, 15)
    expect(learningRateAt(sch, lr, 4, 1000)).toBeCloseTo(lr / 2, 15)
    expect(learningRateAt(sch, lr, 10, 1000)).toBe(lr)
  })
  it("cosine: lr right after warmup, lr*(1+f)/2 halfway, lr*f at the end, monotone in between", () => {
    const sch = { decay: "cosine" as const, warmupSteps: 100, finalFactor: 0.1 }
    const steps = 1100
    expect(learningRateAt(sch, lr, 100, steps)).toBeCloseTo(lr, 15)
    expect(learningRateAt(sch, lr, 600, steps)).toBeCloseTo(lr * 0.55, 15)
    expect(learningRateAt(sch, lr, 1100, steps)).toBeCloseTo(lr * 0.1, 15)
    // closed form at a quarter: (1 + cos(pi/4)) / 2
    expect(learningRateAt(sch, lr, 350, steps)).toBeCloseTo(lr * (0.1 + 0.9 * (1 + Math.SQRT1_2) / 2), 15)
    let prev = Infinity
    for (let s = 100; s <= steps; s += 7) {
      const v = learningRateAt(sch, lr, s, steps)
      expect(v).toBeLessThanOrEqual(prev)
      prev = v
    }
  })
  it("linear decays in a straight line to lr*f", () => {
    const sch = { decay: "linear" as const, warmupSteps: 0, finalFactor: 0 }
    expect(learningRateAt(sch, lr, 0, 1000)).toBe(lr)
    expect(learningRateAt(sch, lr, 250, 1000)).toBeCloseTo(0.75 * lr, 15)
    expect(learningRateAt(sch, lr, 1000, 1000)).toBe(0)
  })
  it("rejects a final factor outside [0, 1] and a fractional warmup", () => {
    expect(() => learningRateAt({ decay: "cosine", warmupSteps: 0, finalFactor: 2 }, lr, 0, 10)).toThrow(/finalFactor/)
    expect(() => learningRateAt({ decay: "cosine", warmupSteps: 1.5, finalFactor: 0 }, lr, 0, 10)).toThrow(/warmupSteps/)
  })
})
