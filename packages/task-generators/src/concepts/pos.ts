import { Rng } from "@conceptscope/core"
import { InvalidTaskParams } from "../errors.js"
import { type ConceptExample, type ConceptFamily, NULL_CONCEPT, type Split } from "./family.js"
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

/**
 * Part-of-speech concepts: input a sentence (its words joined by spaces), output the first word whose
 * concept is z. Only sentences with all six concepts are kept; they are split once, by `splitSeed`,
 * into demonstration and query sentences. Null: the sentence paired with a random word of itself, so
 * Null outputs look like the others but follow no rule.
 */
export function posFamily(sentences: readonly TaggedSentence[], opts: PosOptions): ConceptFamily {
  const items = posItems(sentences, opts.mapping)
  if (!(opts.testFraction > 0 && opts.testFraction < 1)) throw new InvalidTaskParams({ field: "pos.testFraction", reason: "must be in (0, 1)", value: opts.testFraction })
  if (items.length < 10)
    throw new InvalidTaskParams({ field: "pos.source", reason: `only ${items.length} sentences contain all six concepts (need at least 10)`, value: sentences.length })
  const order = new Rng(opts.splitSeed).fork("pos-split").shuffle(items)
  const nTest = Math.max(1, Math.round(items.length * opts.testFraction))
  const splits: Record<Split, PosItem[]> = { test: order.slice(0, nTest), train: order.slice(nTest) }
  const labels = [...POS_CONCEPTS, NULL_CONCEPT]
  return {
    name: "pos",
    labels,
    testSize: nTest,
    examples(label, split, n, rng) {
      const pool = splits[split]
      if (n > pool.length) throw new InvalidTaskParams({ field: "shots", reason: `${n} examples exceed the ${pool.length} ${split} sentences`, value: n })
      if (!labels.includes(label)) throw new InvalidTaskParams({ field: "concept", reason: `not a POS label (${labels.join(", ")})`, value: label })
      return rng
        .shuffle(pool)
        .slice(0, n)
        .map((it): ConceptExample => ({
          input: it.text,
          output: label === NULL_CONCEPT ? it.words[rng.int(it.words.length)] : it.answers[label as PosConcept]
        }))
    }
  }
}
