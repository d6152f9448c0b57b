import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { buildTokenizer, loadTokenizer, preTokenize } from "../src/index.js"

const corpus = [
  "Input: 01101 10011\nOutput: 00001",
  "Input: The cat sat on the mat .\nOutput: cat",
  "Compute the bitwise AND of the two numbers.\n\nInput: 11111 00000\nOutput: 00000",
  "the the the cat"
]

describe("built word-level tokenizer", () => {
  const built = buildTokenizer(corpus, { vocabSize: 20 })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cs-tok-"))
  fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(built.tokenizer))
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(built.config))
  const tok = loadTokenizer(dir)
  const inv = new Map([...built.vocab].map(([t, i]) => [i, t]))
  const pieces = (ids: number[]) => ids.map((i) => inv.get(i))

  it("loads through @huggingface/tokenizers and encodes as the documented pre-tokenizer splits", () => {
    for (const text of corpus) expect(pieces(tok.encode(text, { addSpecialTokens: false }))).toEqual(preTokenize(text))
    expect(pieces(tok.encode("Output: 01"))).toEqual(["<s>", "Output", ":", "0", "1"])
  })

  it("reads digits one by one and never produces <unk> for the corpus's characters", () => {
    expect(pieces(tok.encode(" 00110", { addSpecialTokens: false }))).toEqual(["0", "0", "1", "1", "0"])
    // an unseen word of known characters falls back to characters and continuations
    expect(pieces(tok.encode("mast", { addSpecialTokens: false }))).toEqual(["m", "##a", "##s", "##t"])
    expect(tok.encode("Input: 0 cat", { addSpecialTokens: false })).not.toContain(built.vocab.get("<unk>"))
  })

  it("decodes to the words separated by single spaces, and builds the same vocabulary every time", () => {
    expect(tok.decode(tok.encode("The cat sat", { addSpecialTokens: false }))).toBe("The cat sat")
    expect(buildTokenizer(corpus, { vocabSize: 20 }).tokenizer).toEqual(built.tokenizer)
    expect(built.vocab.get("the")).toBeLessThan(built.vocab.get("cat")!) // more frequent words first
  })
})
