import { type PosMapping, wordConcepts } from "./pos-classes.js"
import { type PosOptions, posSplit } from "./pos.js"
import { type PromptTemplate, renderPrompt } from "./prompts.js"
import type { TaggedSentence } from "./tagged-sentence.js"

/** The tag of a word in no concept class. */
export const OTHER_TAG = "Other"

/**
 * One tagging document per sentence: its words in order, each as an example whose input is the word and
 * whose output is its concept class (or "Other"), written with the prompt template, so a language model
 * pretrained on them learns the part of speech of words the way a large corpus teaches an LLM, and the
 * answer-token loss scores the tags.
 */
export function taggingDocument(sentence: TaggedSentence, mapping: PosMapping, template: PromptTemplate): string {
  const concepts = wordConcepts(sentence, mapping)
  const examples = sentence.words.map((w, i) => ({ input: w, output: concepts[i] ?? OTHER_TAG }))
  const r = renderPrompt(template, examples.slice(0, -1), examples[examples.length - 1])
  return r.prompt + r.answer
}

/**
 * Tagging documents of every sentence of the corpus except the POS family's query (test-split) sentences,
 * so no evaluation query is ever seen: sentences that lack one of the six classes are used too.
 */
export function taggingDocuments(sentences: readonly TaggedSentence[], opts: PosOptions, template: PromptTemplate): string[] {
  const queries = new Set(posSplit(sentences, opts).splits.test.map((it) => it.id))
  return sentences.filter((s) => s.words.length > 0 && !queries.has(s.id)).map((s) => taggingDocument(s, opts.mapping, template))
}
