import { Rng } from "@conceptscope/core"
import { InvalidTaskParams } from "../errors.js"
import { type ConceptExample, type ConceptFamily, NULL_CONCEPT, splitSampler } from "./family.js"
import { POS_CONCEPTS, type PosConcept, type PosMapping, wordConcepts } from "./pos-classes.js"
import type { TaggedSentence } from "./tagged-sentence.js"

export interface PosOptions {
  readonly mapping: PosMapping
  /** Fraction of the kept sentences held out for queries (study: 80/20). */
  readonly testFraction: number
  readonly splitSeed: number
}

/** A sentence that has every concept, with the answer of each. */
export interface PosItem {
  readonly id: string
  readonly text: string
  readonly words: readonly string[]
  readonly answers: Readonly<Record<PosConcept, string>>
}

/** Keep the sentences that contain all six concepts (as the study does) and record each answer. */
export function posItems(sentences: readonly TaggedSentence[], mapping: PosMapping): PosItem[] {
  const out: PosItem[] = []
  for (const s of sentences) {
    const concepts = wordConcepts(s, mapping)
    const answers = {} as Record<PosConcept, string>
    let complete = true
    for (const c of POS_CONCEPTS) {
      const i = concepts.indexOf(c)
      if (i < 0) {
        complete = false
        break
      }
      answers[c] = s.words[i]
    }
    if (complete) out.push({ id: s.id, text: s.words.join(" "), words: s.words, answers })
  }
  return out
}

/** The kept sentences split once by `splitSeed` (the family's split: `splits.test` holds the query sentences). */
export function posSplit(sentences: readonly TaggedSentence[], opts: PosOptions) {
  const items = posItems(sentences, opts.mapping)
  if (items.length < 10)
    throw new InvalidTaskParams({ field: "pos.source", reason: `only ${items.length} sentences contain all six concepts (need at least 10)`, value: sentences.length })
  const labels = [...POS_CONCEPTS, NULL_CONCEPT]
  return { labels, ...splitSampler("pos", labels, items, opts.testFraction, new Rng(opts.splitSeed).fork("pos-split"), "sentences") }
}

/**
 * Part-of-speech concepts: input a sentence (its words joined by spaces), output the first word whose
 * concept is z. Only sentences with all six concepts are kept; they are split once, by `splitSeed`,
 * into demonstration and query sentences. Null: the sentence paired with a random word of itself, so
 * Null outputs look like the others but follow no rule.
 */
export function posFamily(sentences: readonly TaggedSentence[], opts: PosOptions): ConceptFamily {
  const { labels, testSize, draw } = posSplit(sentences, opts)
  return {
    name: "pos",
    labels,
    testSize,
    examples: (label, split, n, rng) =>
      draw(label, split, n, rng).map((it): ConceptExample => ({
        input: it.text,
        output: label === NULL_CONCEPT ? it.words[rng.int(it.words.length)] : it.answers[label as PosConcept]
      }))
  }
}
