export { parseConllu } from "./conllu.js"
export { parsePtb, type PtbLayout } from "./ptb.js"
export { DEFAULT_CORPUS, formatOf, readCorpus, type CorpusFormat } from "./corpus.js"
export type { TaggedSentence } from "./tagged-sentence.js"
export { POS_CONCEPTS, PTB_MAPPING, UPOS_MAPPING, PosMappingSchema, firstWordOf, tagIndex, wordConcepts, type PosConcept, type PosMapping } from "./pos-classes.js"
export { NULL_CONCEPT, type ConceptExample, type ConceptFamily, type Split } from "./family.js"
export { BITWISE_CONCEPTS, bitwiseFamily, bitwiseOp, toBits, type BitwiseConcept, type BitwiseOptions } from "./bitwise.js"
export { posFamily, posItems, posSplit, type PosItem, type PosOptions } from "./pos.js"
export { OTHER_TAG, taggingDocument, taggingDocuments } from "./tagging.js"
export { episode, TAGGING, type Episode, type EpisodeOptions } from "./episodes.js"
export {
  DEFAULT_TEMPLATE,
  PromptTemplateSchema,
  buildPromptSet,
  renderPrompt,
  tokenizeEpisode,
  tokenizePrompt,
  type ConceptPrompt,
  type PromptSetOptions,
  type PromptTemplate,
  type PromptTokenizer,
  type RenderedPrompt,
  type TokenizedEpisode,
  type TokenizedPrompt
} from "./prompts.js"
