import { Rng } from "@conceptscope/core"
import { describe, expect, it } from "vitest"
import { bitwiseFamily, DEFAULT_TEMPLATE, episode, type EpisodeOptions, posFamily, PTB_MAPPING, readCorpus } from "../src/index.js"

const bitwise = bitwiseFamily({ width: 5, testFraction: 0.2, splitSeed: 1 })
const pos = posFamily(readCorpus(), { mapping: PTB_MAPPING, testFraction: 0.2, splitSeed: 1 })
const WEIGHTS = { AND: 0.3, NAND: 0.2, OR: 0.2, NOR: 0.12, XOR: 0.1, XNOR: 0.08 }
const opts: EpisodeOptions = {
  families: [bitwise, pos],
  weights: WEIGHTS,
  nullFraction: 0.1,
  instructedFraction: 0.2,
  instructions: { bitwise: { AND: "Compute AND." }, pos: { Noun: "Find the first noun." } },
  minShots: 1,
  maxShots: 6,
  plainFraction: 0.25,
  plain: ["A plain sentence .", "Another one ."],
  template: DEFAULT_TEMPLATE
}

describe("pretraining episodes", () => {
  const N = 4000
  const docs = Array.from({ length: N }, (_, i) => episode(opts, 7, i))

  it("is a function of (seed, index)", () => {
    expect(episode(opts, 7, 123)).toEqual(docs[123])
    expect(episode(opts, 8, 123)).not.toEqual(docs[123])
  })

  it("draws plain sentences, Null episodes and concepts at the configured frequencies", () => {
    const within = (count: number, n: number, p: number) => expect(Math.abs(count - n * p)).toBeLessThan(4 * Math.sqrt(n * p * (1 - p)) + 1)
    const plain = docs.filter((d) => d.family === null)
    within(plain.length, N, 0.25)
    const bits = docs.filter((d) => d.family === "bitwise")
    within(bits.length, N - plain.length, 0.5)
    within(bits.filter((d) => d.label === "Null").length, bits.length, 0.1)
    for (const [op, w] of Object.entries(WEIGHTS)) within(bits.filter((d) => d.label === op).length, bits.length, 0.9 * w)
    const shots = new Set(docs.filter((d) => d.family).map((d) => d.shots))
    expect([...shots].sort()).toEqual([1, 2, 3, 4, 5, 6])
  })

  it("writes the instruction into about instructedFraction of the episodes that have one", () => {
    const and = docs.filter((d) => d.label === "AND")
    const told = and.filter((d) => d.instructed)
    expect(told.every((d) => d.text.startsWith("Compute AND.\n\n"))).toBe(true)
    expect(Math.abs(told.length / and.length - 0.2)).toBeLessThan(0.06)
    expect(docs.filter((d) => d.label === "XOR").every((d) => !d.instructed)).toBe(true) // no instruction configured
  })

  it("never shows an evaluation query: every example comes from the train split", () => {
    const testPairs = new Set(bitwise.examples("AND", "test", bitwise.testSize, new Rng(1)).map((e) => e.input))
    const testSentences = new Set(pos.examples("Noun", "test", pos.testSize, new Rng(1)).map((e) => e.input))
    for (const d of docs.filter((x) => x.family !== null)) {
      const inputs = [...d.text.matchAll(/Input: ([^\n]*)\nOutput:/g)].map((m) => m[1])
      expect(inputs.length).toBe(d.shots + 1)
      for (const x of inputs) expect(d.family === "bitwise" ? testPairs.has(x) : testSentences.has(x)).toBe(false)
    }
  })
})
