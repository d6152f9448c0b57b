import { CorpusParseError } from "../errors.js"
import type { TaggedSentence } from "./tagged-sentence.js"

/**
 * Read a CoNLL-U file (Universal Dependencies): sentences separated by blank lines, `#` comment lines
 * (`# sent_id = ...` names the sentence), and 10 tab-separated columns per word line:
 * ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC. Multiword-token lines (ID `3-4`) and empty nodes
 * (ID `5.1`) carry no tag of their own and are skipped; every word line's ID must follow the previous
 * one. A malformed line throws a CorpusParseError naming the file and the line.
 */
export function parseConllu(text: string, file: string): TaggedSentence[] {
  const out: TaggedSentence[] = []
  const lines = text.split(/\r?\n/)
  let words: string[] = []
  let fine: string[] = []
  let universal: string[] = []
  let id: string | null = null
  let startLine = 0
  const fail = (line: number, reason: string): never => {
    throw new CorpusParseError({ file, line, reason })
  }
  const flush = () => {
    if (words.length > 0) out.push({ id: id ?? `${file}#${out.length + 1}`, words, fine, universal })
    words = []
    fine = []
    universal = []
    id = null
  }
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const at = i + 1
    if (line.trim() === "") {
      flush()
      continue
    }
    if (line.startsWith("#")) {
      const m = /^#\s*sent_id\s*=\s*(.+)$/.exec(line)
      if (m) id = m[1].trim()
      continue
    }
    const cols = line.split("\t")
    if (cols.length !== 10) fail(at, `expected 10 tab-separated columns, found ${cols.length}`)
    const [wid, form, , upos, xpos] = cols
    if (/^\d+-\d+$/.test(wid) || /^\d+\.\d+$/.test(wid)) continue
    if (!/^\d+$/.test(wid)) fail(at, `ID "${wid}" is not a word index, a range (3-4) or an empty node (5.1)`)
    if (words.length === 0) startLine = at
    if (Number(wid) !== words.length + 1) fail(at, `word ID ${wid} does not follow ${words.length} (sentence from line ${startLine})`)
    if (form === "") fail(at, "empty FORM")
    if (upos === "" || upos === "_") fail(at, `word "${form}" has no UPOS tag`)
    words.push(form)
    universal.push(upos)
    fine.push(xpos === "" ? "_" : xpos)
  }
  flush()
  if (out.length === 0) throw new CorpusParseError({ file, line: 0, reason: "no sentences" })
  return out
}
