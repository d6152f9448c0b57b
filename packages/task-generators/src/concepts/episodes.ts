import { Rng } from "@conceptscope/core"
import { InvalidTaskParams } from "../errors.js"
import { type ConceptFamily, NULL_CONCEPT } from "./family.js"
import { type PromptTemplate, renderPrompt } from "./prompts.js"

/**
 * The pretraining corpus of the embedded LM: ICL episodes of the concept families, written with the same
 * template as the evaluation prompts, mixed with plain sentences. Every example comes from the families'
 * "train" split, so no evaluation query is ever seen in pretraining. Concepts are deliberately unequally
 * frequent (`weights`), some episodes carry the instruction that names their concept, and a share are Null
 * episodes (random outputs).
 */
export interface EpisodeOptions {
  readonly families: readonly ConceptFamily[]
  /** Relative frequency of each family's episodes (default: equal). */
  readonly familyWeights?: readonly number[]
  /** Relative frequency of each concept within its family (labels without a weight get 1); Null is set by nullFraction. */
  readonly weights?: Readonly<Record<string, number>>
  readonly nullFraction: number
  readonly instructedFraction: number
  /** Instruction per label (an instructed episode of a label without one is written without). */
  readonly instructions?: Readonly<Record<string, Readonly<Record<string, string>>>>
  readonly minShots: number
  readonly maxShots: number
  /** Fraction of documents that are a plain sentence instead of an episode. */
  readonly plainFraction: number
  readonly plain: readonly string[]
  /** Fraction of the documents that are not plain sentences that are a tagging document (tagging.ts) instead of an episode (default 0). */
  readonly taggedFraction?: number
  readonly tagged?: readonly string[]
  readonly template: PromptTemplate
}

/** The `family` of a tagging document. */
export const TAGGING = "pos-tagging"

export interface Episode {
  readonly text: string
  readonly family: string | null
  readonly label: string | null
  readonly shots: number
  readonly instructed: boolean
}

const pick = (rng: Rng, weights: readonly number[]) => {
  const total = weights.reduce((a, w) => a + w, 0)
  let u = rng.uniform() * total
  for (let i = 0; i < weights.length; i++) if ((u -= weights[i]) < 0) return i
  return weights.length - 1
}

/** Document `index` of the corpus drawn with `seed`: a function of (seed, index) alone, so a resumed run sees the same data. */
export function episode(opts: EpisodeOptions, seed: number, index: number): Episode {
  const { families, nullFraction, instructedFraction, minShots, maxShots, plainFraction, plain, template } = opts
  const taggedFraction = opts.taggedFraction ?? 0
  for (const [field, v] of [["nullFraction", nullFraction], ["instructedFraction", instructedFraction], ["plainFraction", plainFraction], ["taggedFraction", taggedFraction]] as const)
    if (!(v >= 0 && v <= 1)) throw new InvalidTaskParams({ field, reason: "must be in [0, 1]", value: v })
  if (!Number.isInteger(minShots) || minShots < 0 || !Number.isInteger(maxShots) || maxShots < minShots)
    throw new InvalidTaskParams({ field: "maxShots", reason: "need integers 0 <= minShots <= maxShots", value: [minShots, maxShots] })
  if (families.length === 0) throw new InvalidTaskParams({ field: "families", reason: "need at least one family", value: families.length })
  const rng = new Rng(seed).fork(`episode:${index}`)
  if (plain.length > 0 && rng.uniform() < plainFraction) return { text: plain[rng.int(plain.length)], family: null, label: null, shots: 0, instructed: false }
  // drawn only when tagging documents are asked for, so a corpus without them is the same document for document
  const tagged = opts.tagged ?? []
  if (taggedFraction > 0 && tagged.length > 0 && rng.uniform() < taggedFraction)
    return { text: tagged[rng.int(tagged.length)], family: TAGGING, label: null, shots: 0, instructed: false }
  const family = families[pick(rng, opts.familyWeights ?? families.map(() => 1))]
  const concepts = family.labels.filter((l) => l !== NULL_CONCEPT)
  const label = rng.uniform() < nullFraction ? NULL_CONCEPT : concepts[pick(rng, concepts.map((c) => opts.weights?.[c] ?? 1))]
  const shots = minShots + rng.int(maxShots - minShots + 1)
  const examples = family.examples(label, "train", shots + 1, rng)
  const instruction = rng.uniform() < instructedFraction ? opts.instructions?.[family.name]?.[label] : undefined
  const r = renderPrompt(template, examples.slice(0, shots), examples[shots], instruction)
  return { text: r.prompt + r.answer, family: family.name, label, shots, instructed: instruction !== undefined }
}
