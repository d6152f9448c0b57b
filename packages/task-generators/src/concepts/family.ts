import type { Rng } from "@conceptscope/core"
import { InvalidTaskParams } from "../errors.js"

/** One input/output pair of a concept task, as text (the prompt template adds markers around them). */
export interface ConceptExample {
  readonly input: string
  readonly output: string
}

export type Split = "train" | "test"

/** The label of the class whose outputs carry no concept (random outputs). */
export const NULL_CONCEPT = "Null"

/**
 * A family of concept tasks: its concepts (then "Null" as the last label), and a sampler of examples.
 * Demonstrations come from the "train" split, queries from "test", so no query input is ever shown as
 * a demonstration.
 */
export interface ConceptFamily {
  readonly name: string
  /** The concepts, then NULL_CONCEPT. */
  readonly labels: readonly string[]
  /** Inputs in the test split (distinct queries available). */
  readonly testSize: number
  /** `n` distinct examples of `label` from `split`. */
  examples(label: string, split: Split, n: number, rng: Rng): ConceptExample[]
}

/**
 * Split `items` once by seed into test (the first round(n * testFraction), at least one) and train, and
 * give a family's sampler over them: `n` distinct items of a split, in random order, checked against the
 * split's size and the family's labels.
 */
export function splitSampler<T>(family: string, labels: readonly string[], items: readonly T[], testFraction: number, rng: Rng, what: string) {
  if (!(testFraction > 0 && testFraction < 1)) throw new InvalidTaskParams({ field: `${family}.testFraction`, reason: "must be in (0, 1)", value: testFraction })
  const order = rng.shuffle(items)
  const testSize = Math.max(1, Math.round(items.length * testFraction))
  const splits: Record<Split, T[]> = { test: order.slice(0, testSize), train: order.slice(testSize) }
  const draw = (label: string, split: Split, n: number, r: Rng): T[] => {
    const pool = splits[split]
    if (n > pool.length) throw new InvalidTaskParams({ field: "shots", reason: `${n} examples exceed the ${pool.length} ${split} ${what}`, value: n })
    if (!labels.includes(label)) throw new InvalidTaskParams({ field: "concept", reason: `not a ${family} label (${labels.join(", ")})`, value: label })
    return r.shuffle(pool).slice(0, n)
  }
  return { testSize, draw, splits: splits as Readonly<Record<Split, readonly T[]>> }
}
