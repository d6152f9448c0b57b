import type { Rng } from "@conceptscope/core"

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
