import { Rng } from "@conceptscope/core"
import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import { bitwiseFamily, DEFAULT_TEMPLATE, DEFAULT_CORPUS, episode, type EpisodeOptions, parseConllu, posFamily, PTB_MAPPING, readCorpus, TAGGING, taggingDocument, taggingDocuments } from "../src/index.js"

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

describe("tagging documents", () => {
  const sentences = readCorpus()
  const split = { mapping: PTB_MAPPING, testFraction: 0.2, splitSeed: 1 }
  const tagged = taggingDocuments(sentences, split, DEFAULT_TEMPLATE)

  it("write a sentence's words one by one, each answered with its class or Other", () => {
    const [s] = parseConllu("1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n2\tdog\tdog\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n3\tran\trun\tVERB\tVBD\t_\t0\troot\t_\t_\n\n", "t.conllu")
    expect(taggingDocument(s, PTB_MAPPING, DEFAULT_TEMPLATE)).toBe("Input: The\nOutput: Other\n\nInput: dog\nOutput: Noun\n\nInput: ran\nOutput: Verb")
  })

  it("cover every corpus sentence but the POS queries, with the tags the corpus gives (read back from the CoNLL-U text)", () => {
    const queries = new Set(pos.examples("Noun", "test", pos.testSize, new Rng(1)).map((e) => e.input))
    expect(tagged.length).toBe(sentences.length - pos.testSize)
    // an independent reading of the corpus: word and XPOS columns of the token lines
    const text = fs.readFileSync(DEFAULT_CORPUS, "utf8")
    const gold = new Map<string, string[][]>()
    for (const block of text.split(/\n\s*\n/)) {
      const toks = block.split("\n").filter((l) => /^\d+\t/.test(l)).map((l) => l.split("\t"))
      if (toks.length) gold.set(toks.map((t) => t[1]).join(" "), toks.map((t) => [t[1], t[4]]))
    }
    const classOf = (xpos: string) => Object.entries(PTB_MAPPING.classes).find(([, tags]) => tags.includes(xpos))?.[0] ?? "Other"
    for (const doc of tagged) {
      const pairs = [...doc.matchAll(/Input: ([^\n]*)\nOutput: ([^\n]*)/g)].map((m) => [m[1], m[2]])
      const words = pairs.map((p) => p[0]).join(" ")
      expect(queries.has(words)).toBe(false)
      const g = gold.get(words)!
      expect(g, words).toBeDefined()
      expect(pairs.map((p) => p[1])).toEqual(g.map(([, x]) => classOf(x)))
    }
  })

  it("make up about taggedFraction of the non-plain documents, and leave a corpus without them document for document the same", () => {
    const N = 2000
    const withTags = { ...opts, taggedFraction: 0.3, tagged }
    const docs = Array.from({ length: N }, (_, i) => episode(withTags, 7, i))
    const nonPlain = docs.filter((d) => d.family !== null)
    const t = nonPlain.filter((d) => d.family === TAGGING)
    expect(Math.abs(t.length - 0.3 * nonPlain.length)).toBeLessThan(4 * Math.sqrt(nonPlain.length * 0.21))
    expect(t.every((d) => tagged.includes(d.text))).toBe(true)
    for (let i = 0; i < 200; i++) expect(episode({ ...opts, taggedFraction: 0, tagged }, 7, i)).toEqual(episode(opts, 7, i))
  })
})
