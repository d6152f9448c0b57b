import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import {
  InvalidRequest,
  InvalidTaskParams,
  makeBatchSampler,
  makeTaskParams,
  sampleSequences,
  studyOverlappingDefaults,
  studyTaskDefaults,
  validateTaskParams
} from "../src/index.js"

const fieldOf = (input: unknown): string => {
  const r = validateTaskParams(input)
  if (Either.isRight(r)) throw new Error(`expected invalid params: ${JSON.stringify(input)}`)
  expect(r.left).toBeInstanceOf(InvalidTaskParams)
  expect(r.left._tag).toBe("InvalidTaskParams")
  expect(r.left.message).toContain(r.left.field)
  return r.left.field
}

describe("task parameters", () => {
  it("accepts the study defaults and variants", () => {
    for (const p of [
      studyTaskDefaults,
      studyOverlappingDefaults,
      { ...studyTaskDefaults, dim: 24, nBases: 6 },
      { ...studyTaskDefaults, weightPool: { kind: "pool", size: 1, seed: 3 } }
    ])
      expect(Either.isRight(validateTaskParams(p))).toBe(true)
    expect(studyTaskDefaults).toMatchObject({ dim: 16, nBases: 4, rank: 4, noiseVariance: 0.01, nExamples: 20 })
  })

  it("names the field at fault", () => {
    const d = studyTaskDefaults
    const o = studyOverlappingDefaults
    expect(fieldOf({ ...d, rank: 5 })).toBe("rank") // 5 * 4 > 16
    expect(fieldOf({ ...d, nBases: 5 })).toBe("rank") // 4 * 5 > 16: reported on rank, reason names both
    expect(fieldOf({ ...d, dim: 1.5 })).toBe("dim")
    expect(fieldOf({ ...d, nExamples: 0 })).toBe("nExamples")
    expect(fieldOf({ ...d, noiseVariance: -1 })).toBe("noiseVariance")
    expect(fieldOf({ ...d, weightScale: 0 })).toBe("weightScale")
    expect(fieldOf({ ...d, layout: "diagonal" })).toBe("layout")
    expect(fieldOf({ ...d, weightPool: { kind: "pool", size: 0, seed: 1 } })).toBe("weightPool.size")
    expect(fieldOf({ ...d, weightPool: { kind: "pool", size: 2, seed: -1 } })).toBe("weightPool.seed")
    expect(fieldOf({ ...o, groups: 3 })).toBe("groups") // 16 % 3
    expect(fieldOf({ ...o, nBases: 7 })).toBe("nBases") // 7 % 2
    expect(fieldOf({ ...o, rank: 9 })).toBe("rank") // group size 8
    expect(fieldOf({ ...o, rank: 8 })).toBe("rank") // windows of a group would coincide
    expect(fieldOf({ ...o, nBases: 18 })).toBe("nBases") // 9 per group > 8 windows
    const { dim: _omit, ...noDim } = d
    expect(fieldOf(noDim)).toBe("dim")
  })

  it("works as an Effect with defaults and overrides", async () => {
    const ok = await Effect.runPromise(makeTaskParams({ nBases: 3 }))
    expect(ok).toEqual({ ...studyTaskDefaults, nBases: 3 })
    const bad = await Effect.runPromise(Effect.flip(makeTaskParams({ rank: 8 })))
    expect(bad._tag).toBe("InvalidTaskParams")
    expect(bad.field).toBe("rank")
    expect(bad.value).toBe(8)
  })

  it("samplers reject invalid params and requests", () => {
    expect(() => makeBatchSampler({ ...studyTaskDefaults, rank: 5 }, 1)).toThrow(InvalidTaskParams)
    try {
      sampleSequences(studyTaskDefaults, { n: 10, seed: 1, basisBalanced: true })
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidRequest)
      expect((e as InvalidRequest).field).toBe("n")
    }
    expect(() => makeBatchSampler(studyTaskDefaults, 1).next(-1)).toThrow(InvalidRequest)
  })
})
