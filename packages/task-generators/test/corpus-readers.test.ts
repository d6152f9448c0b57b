import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { parseConllu, parsePtb, readCorpus } from "../src/index.js"

const fixture = (name: string) => path.join(import.meta.dirname, "fixtures", name)
const text = (name: string) => fs.readFileSync(fixture(name), "utf8")

describe("CoNLL-U reader", () => {
  it("reads words with both tag columns, skipping multiword tokens and empty nodes", () => {
    const s = parseConllu(text("mini.conllu"), "mini.conllu")
    expect(s.map((x) => x.id)).toEqual(["s1", "s2"])
    expect(s[0].words).toEqual(["She", "ca", "n't", "run", "fast", "."])
    expect(s[0].fine).toEqual(["PRP", "MD", "RB", "VB", "RB", "."])
    expect(s[0].universal).toEqual(["PRON", "AUX", "PART", "VERB", "ADV", "PUNCT"])
    expect(s[1].words).toEqual(["Big", "dogs", "bark"])
  })

  it("names the file and the line of a malformed line", () => {
    const cases: [string, RegExp][] = [
      ["1\tA\ta\tDET\tDT\t_\t0\troot\t_\n", /^x\.conllu:1: expected 10 tab-separated columns, found 9$/],
      ["1\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n3\tB\tb\tNOUN\tNN\t_\t1\tnmod\t_\t_\n", /^x\.conllu:2: word ID 3 does not follow 1/],
      ["# c\nx\tA\ta\tDET\tDT\t_\t0\troot\t_\t_\n", /^x\.conllu:2: ID "x" is not a word index/],
      ["1\tA\ta\t_\tDT\t_\t0\troot\t_\t_\n", /^x\.conllu:1: word "A" has no UPOS tag$/],
      ["# only a comment\n", /^x\.conllu: no sentences$/]
    ]
    for (const [t, re] of cases) expect(() => parseConllu(t, "x.conllu")).toThrow(re)
  })
})

describe("Penn Treebank readers", () => {
  it("reads word/TAG files: chunks, escaped slashes, ambiguous tags, blank-line sentences", () => {
    const s = parsePtb(text("mini.pos"), "mini.pos")
    expect(s).toHaveLength(2)
    expect(s[0].words.slice(0, 6)).toEqual(["Pierre", "Vinken", ",", "61", "years", "old"])
    expect(s[0].fine.slice(6, 9)).toEqual([",", "MD", "VB"])
    expect(s[1].words).toEqual(["1/2", "of", "it", "was", "sold", "."])
    expect(s[1].fine).toEqual(["CD", "IN", "PRP", "VBD", "VBN", "."])
    expect(s[0].universal).toBeNull()
  })

  it("reads bracketed trees, dropping -NONE- leaves", () => {
    const s = parsePtb(text("mini.mrg"), "mini.mrg")
    expect(s.map((x) => x.words)).toEqual([
      ["Mr.", "Vinken", "is", "chairman", "of", "Elsevier", "N.V.", "."],
      ["Go", "quickly", "."]
    ])
    expect(s[0].fine).toEqual(["NNP", "NNP", "VBZ", "NN", "IN", "NNP", "NNP", "."])
  })

  it("names the file and the line of malformed input", () => {
    expect(() => parsePtb("The/DT cat/NN\nsat on/IN\n", "a.pos")).toThrow(/^a\.pos:2: token "sat" is not word\/TAG$/)
    expect(() => parsePtb("( (S (NP (DT The) (NN cat)) )\n\n( (S (VB Go) ))\n", "b.mrg")).toThrow(/^b\.mrg:1: tree opened here is not closed/)
    expect(() => parsePtb("( (S (VB Go) ))\n)\n", "c.mrg")).toThrow(/^c\.mrg:2: '\)' without a matching '\('$/)
    expect(() => parsePtb("( (S (VB Go now) ))\n", "d.mrg")).toThrow(/^d\.mrg:1: node \(VB Go \.\.\.\) has a second word "now"$/)
  })

  it("reads files from disk and reports a missing one by name", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cs-corpus-"))
    fs.writeFileSync(path.join(dir, "t.pos"), "A/DT b/NN\n")
    expect(readCorpus(path.join(dir, "t.pos"))[0].fine).toEqual(["DT", "NN"])
    expect(() => readCorpus(path.join(dir, "missing.conllu"))).toThrow(/missing\.conllu: cannot read: ENOENT/)
  })
})
