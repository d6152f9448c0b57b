import { Schema } from "effect"
import { InvalidTaskParams } from "../errors.js"
import type { TaggedSentence } from "./tagged-sentence.js"

/** The study's six part-of-speech concepts, in its order. */
export const POS_CONCEPTS = ["Noun", "Adjective", "Verb", "Adverb", "Preposition", "Pronoun"] as const
export type PosConcept = (typeof POS_CONCEPTS)[number]

/**
 * Which tags count as each concept, and which tag column they are read from: "fine" (Penn Treebank
 * tags: PTB files, the XPOS column of CoNLL-U) or "universal" (UPOS, CoNLL-U only). A word whose tag is
 * in no list belongs to no concept.
 */
export const PosMappingSchema = Schema.Struct({
  tagSet: Schema.Literal("fine", "universal"),
  classes: Schema.Struct({
    Noun: Schema.Array(Schema.String),
    Adjective: Schema.Array(Schema.String),
    Verb: Schema.Array(Schema.String),
    Adverb: Schema.Array(Schema.String),
    Preposition: Schema.Array(Schema.String),
    Pronoun: Schema.Array(Schema.String)
  })
})
export type PosMapping = typeof PosMappingSchema.Type

/**
 * Default: Penn Treebank tags, as the study's WSJ source has them (the study does not give its mapping).
 * Nouns include proper nouns; verbs include auxiliaries and modals (PTB tags "is" VBZ, "will" MD);
 * prepositions are IN (which PTB also gives subordinating conjunctions such as "because") and TO;
 * pronouns are personal, possessive and wh-pronouns; adverbs include wh-adverbs.
 */
export const PTB_MAPPING: PosMapping = {
  tagSet: "fine",
  classes: {
    Noun: ["NN", "NNS", "NNP", "NNPS"],
    Adjective: ["JJ", "JJR", "JJS"],
    Verb: ["VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "MD"],
    Adverb: ["RB", "RBR", "RBS", "WRB"],
    Preposition: ["IN", "TO"],
    Pronoun: ["PRP", "PRP$", "WP", "WP$"]
  }
}

/** The same six classes from Universal POS tags (AUX counted as a verb, ADP as a preposition). */
export const UPOS_MAPPING: PosMapping = {
  tagSet: "universal",
  classes: {
    Noun: ["NOUN", "PROPN"],
    Adjective: ["ADJ"],
    Verb: ["VERB", "AUX"],
    Adverb: ["ADV"],
    Preposition: ["ADP"],
    Pronoun: ["PRON"]
  }
}

/** The concept of each word of a sentence (null where its tag is in no class). */
export function wordConcepts(sentence: TaggedSentence, mapping: PosMapping): (PosConcept | null)[] {
  const tags = mapping.tagSet === "fine" ? sentence.fine : sentence.universal
  if (tags === null)
    throw new InvalidTaskParams({ field: "pos.mapping.tagSet", reason: `sentence ${sentence.id} has no universal tags (a PTB source needs "fine")`, value: mapping.tagSet })
  const byTag = tagIndex(mapping)
  return tags.map((t) => byTag.get(t) ?? null)
}

/** Tag -> concept; a tag listed under two concepts is an error naming both. */
export function tagIndex(mapping: PosMapping): Map<string, PosConcept> {
  const byTag = new Map<string, PosConcept>()
  for (const c of POS_CONCEPTS)
    for (const t of mapping.classes[c]) {
      const seen = byTag.get(t)
      if (seen) throw new InvalidTaskParams({ field: `pos.mapping.classes.${c}`, reason: `tag ${t} is also listed under ${seen}`, value: t })
      byTag.set(t, c)
    }
  return byTag
}

/** The first word of the sentence whose concept is `concept`, or null. */
export function firstWordOf(sentence: TaggedSentence, concepts: readonly (PosConcept | null)[], concept: PosConcept): string | null {
  const i = concepts.indexOf(concept)
  return i < 0 ? null : sentence.words[i]
}
