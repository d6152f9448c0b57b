import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { CorpusParseError } from "../errors.js"
import { parseConllu } from "./conllu.js"
import { parsePtb } from "./ptb.js"
import type { TaggedSentence } from "./tagged-sentence.js"

/** The shipped default corpus: UD English EWT dev (CC BY-SA 4.0; see the LICENSE.txt beside it). */
export const DEFAULT_CORPUS = path.join(
  // through the package's own package.json, so the path holds when this module is bundled into an app
  path.dirname(createRequire(import.meta.url).resolve("@conceptscope/task-generators/package.json")),
  "data/ud-english-ewt/en_ewt-ud-dev.conllu"
)

export type CorpusFormat = "conllu" | "ptb"

/** The format a file's name implies: `.conllu` is CoNLL-U; `.pos`, `.mrg` and anything else is PTB. */
export const formatOf = (file: string): CorpusFormat => (file.endsWith(".conllu") ? "conllu" : "ptb")

/** Read a tagged corpus file (default: the shipped EWT dev split). */
export function readCorpus(file: string = DEFAULT_CORPUS, format: CorpusFormat = formatOf(file)): TaggedSentence[] {
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch (e) {
    throw new CorpusParseError({ file, line: 0, reason: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` })
  }
  return format === "conllu" ? parseConllu(text, file) : parsePtb(text, file)
}
