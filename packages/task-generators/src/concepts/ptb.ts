import { CorpusParseError } from "../errors.js"
import type { TaggedSentence } from "./tagged-sentence.js"

/**
 * Penn Treebank readers. Two layouts:
 * - "tagged" (the `.pos` files): whitespace-separated `word/TAG` tokens; sentences separated by blank
 *   lines; `[` `]` chunk brackets and `=====` document separators ignored; `\/` in a word is a slash;
 *   an ambiguous tag `VBN|JJ` keeps its first tag.
 * - "trees" (the `.mrg` files): bracketed parse trees, one balanced top-level expression per sentence;
 *   each leaf `(TAG word)` is a word; `-NONE-` leaves (traces, empty elements) are dropped.
 * "auto" picks "trees" when the first non-blank character is `(`. Malformed input throws a
 * CorpusParseError naming the file and the line.
 */
export type PtbLayout = "tagged" | "trees" | "auto"

export function parsePtb(text: string, file: string, layout: PtbLayout = "auto"): TaggedSentence[] {
  const chosen = layout === "auto" ? (text.trimStart().startsWith("(") ? "trees" : "tagged") : layout
  const out = chosen === "trees" ? parseTrees(text, file) : parseTagged(text, file)
  if (out.length === 0) throw new CorpusParseError({ file, line: 0, reason: "no sentences" })
  return out
}

function parseTagged(text: string, file: string): TaggedSentence[] {
  const out: TaggedSentence[] = []
  let words: string[] = []
  let tags: string[] = []
  const flush = () => {
    if (words.length > 0) out.push({ id: `${file}#${out.length + 1}`, words, fine: tags, universal: null })
    words = []
    tags = []
  }
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (line === "" || /^=+$/.test(line)) {
      flush()
      continue
    }
    for (const token of line.split(/\s+/)) {
      if (token === "[" || token === "]") continue
      const cut = lastUnescapedSlash(token)
      const word = cut > 0 ? token.slice(0, cut).replace(/\\\//g, "/") : ""
      const tag = cut > 0 ? token.slice(cut + 1).split("|")[0] : ""
      if (word === "" || tag === "") throw new CorpusParseError({ file, line: i + 1, reason: `token "${token}" is not word/TAG` })
      words.push(word)
      tags.push(tag)
    }
  }
  flush()
  return out
}

function lastUnescapedSlash(token: string): number {
  for (let j = token.length - 1; j >= 0; j--) if (token[j] === "/" && token[j - 1] !== "\\") return j
  return -1
}

/** Parse bracketed trees with a small tokenizer over `(`, `)` and atoms, tracking line numbers. */
function parseTrees(text: string, file: string): TaggedSentence[] {
  const out: TaggedSentence[] = []
  let line = 1
  let depth = 0
  let treeLine = 0
  let words: string[] = []
  let tags: string[] = []
  // the atoms seen since the last "(" at the current depth: a leaf is "(" TAG WORD ")"
  let open: { tag: string | null; word: string | null; children: number }[] = []
  const fail = (at: number, reason: string): never => {
    throw new CorpusParseError({ file, line: at, reason })
  }
  for (let i = 0; i < text.length; ) {
    const c = text[i]
    if (c === "\n") {
      line++
      i++
    } else if (/\s/.test(c)) i++
    else if (c === "(") {
      if (depth === 0) treeLine = line
      if (open.length > 0) open[open.length - 1].children++
      open.push({ tag: null, word: null, children: 0 })
      depth++
      i++
    } else if (c === ")") {
      if (depth === 0) fail(line, "')' without a matching '('")
      const node = open.pop()!
      if (node.word !== null) {
        if (node.children > 0) fail(line, `node (${node.tag} ...) has both a word and subtrees`)
        if (node.tag !== "-NONE-") {
          words.push(node.word)
          tags.push((node.tag ?? "").split("|")[0])
        }
      }
      depth--
      i++
      if (depth === 0) {
        if (words.length > 0) out.push({ id: `${file}#${out.length + 1}`, words, fine: tags, universal: null })
        words = []
        tags = []
        open = []
      }
    } else {
      let j = i
      while (j < text.length && !/[\s()]/.test(text[j])) j++
      const atom = text.slice(i, j)
      if (depth === 0) fail(line, `"${atom}" outside any tree`)
      const node = open[open.length - 1]
      if (node.tag === null) node.tag = atom
      else if (node.word === null) node.word = atom
      else fail(line, `node (${node.tag} ${node.word} ...) has a second word "${atom}"`)
      i = j
    }
  }
  if (depth !== 0) fail(treeLine, `tree opened here is not closed (${depth} unclosed '(')`)
  return out
}
