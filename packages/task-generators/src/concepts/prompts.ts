import { Rng } from "@conceptscope/core"
import { Schema } from "effect"
import { InvalidTaskParams } from "../errors.js"
import type { ConceptExample, ConceptFamily } from "./family.js"

/**
 * How an ICL prompt is written (the study gives no template). A prompt with instruction I, shots
 * (x_1, y_1) .. (x_n, y_n) and query x is
 *
 *   [I + exampleSeparator] inputPrefix x_1 outputPrefix answerPrefix y_1 exampleSeparator ... inputPrefix x outputPrefix
 *
 * and its answer is answerPrefix y. The prompt ends at outputPrefix, so its last token is the token just
 * before the answer (where TD is read) under any tokenizer that does not merge across that boundary.
 */
export const PromptTemplateSchema = Schema.Struct({
  inputPrefix: Schema.String,
  outputPrefix: Schema.String,
  answerPrefix: Schema.String,
  exampleSeparator: Schema.String
})
export type PromptTemplate = typeof PromptTemplateSchema.Type

export const DEFAULT_TEMPLATE: PromptTemplate = { inputPrefix: "Input: ", outputPrefix: "\nOutput:", answerPrefix: " ", exampleSeparator: "\n\n" }

/** A rendered prompt and its answer. */
export interface RenderedPrompt {
  readonly prompt: string
  readonly answer: string
}

export function renderPrompt(t: PromptTemplate, shots: readonly ConceptExample[], query: ConceptExample, instruction?: string): RenderedPrompt {
  const demo = (e: ConceptExample) => `${t.inputPrefix}${e.input}${t.outputPrefix}${t.answerPrefix}${e.output}`
  const parts = shots.map(demo)
  parts.push(`${t.inputPrefix}${query.input}${t.outputPrefix}`)
  const body = parts.join(t.exampleSeparator)
  return { prompt: instruction ? `${instruction}${t.exampleSeparator}${body}` : body, answer: `${t.answerPrefix}${query.output}` }
}

/** One prompt of a prompt set. */
export interface ConceptPrompt extends RenderedPrompt {
  readonly label: string
  readonly labelIndex: number
  /** Index of the query within its label (0 .. perLabel - 1): the same query at every shot count. */
  readonly item: number
  readonly shots: number
  readonly instructed: boolean
  readonly queryInput: string
  readonly queryOutput: string
}

export interface PromptSetOptions {
  readonly shots: readonly number[]
  readonly perLabel: number
  readonly seed: number
  readonly template: PromptTemplate
  /** Instruction per label (the prompting condition); a prompt set without it is plain ICL. */
  readonly instructions?: Readonly<Record<string, string>>
  /**
   * Demonstrations drawn per item (default max(shots)). A prompt set built with the same seed and
   * `drawShots` shows the same demonstrations at each shot count, so the prompting condition can reuse
   * plain ICL's prompts exactly and add only the instruction.
   */
  readonly drawShots?: number
}

/**
 * `perLabel` prompts per label and shot count. Item i of a label draws its query (test split) and
 * max(shots) demonstrations (train split) once, from a generator forked on (label, i), and the prompt
 * with s shots uses the last s of them: shot counts differ only in how much earlier context precedes
 * the same demonstrations and query.
 */
export function buildPromptSet(family: ConceptFamily, opts: PromptSetOptions): ConceptPrompt[] {
  const { shots, perLabel, seed, template, instructions } = opts
  if (shots.length === 0 || shots.some((s) => !Number.isInteger(s) || s < 0))
    throw new InvalidTaskParams({ field: "shots", reason: "must be a non-empty list of integers >= 0", value: shots })
  if (!Number.isInteger(perLabel) || perLabel < 1) throw new InvalidTaskParams({ field: "perLabel", reason: "must be an integer >= 1", value: perLabel })
  const maxShots = opts.drawShots ?? Math.max(...shots)
  if (!Number.isInteger(maxShots) || maxShots < Math.max(...shots))
    throw new InvalidTaskParams({ field: "drawShots", reason: `must be an integer >= the largest shot count (${Math.max(...shots)})`, value: maxShots })
  const root = new Rng(seed).fork(`prompts:${family.name}`)
  const out: ConceptPrompt[] = []
  family.labels.forEach((label, labelIndex) => {
    const instruction = instructions?.[label]
    if (instructions && instruction === undefined)
      throw new InvalidTaskParams({ field: `instructions.${label}`, reason: "the prompting condition needs an instruction for every label", value: undefined })
    for (let item = 0; item < perLabel; item++) {
      const rng = root.fork(`${label}:${item}`)
      const [query] = family.examples(label, "test", 1, rng)
      const demos = family.examples(label, "train", maxShots, rng)
      for (const s of shots) {
        const r = renderPrompt(template, demos.slice(maxShots - s), query, instruction)
        out.push({ ...r, label, labelIndex, item, shots: s, instructed: instruction !== undefined, queryInput: query.input, queryOutput: query.output })
      }
    }
  })
  return out
}

/** The tokenizer calls the positions need (structurally, a model-runners LmTokenizer). */
export interface PromptTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[]
}

/** Token ids of prompt and answer, and the position of the last prompt token (where TD is read). */
export interface TokenizedPrompt {
  readonly promptIds: number[]
  readonly answerIds: number[]
  readonly preAnswer: number
}

/**
 * Tokenize prompt (with the tokenizer's special tokens, e.g. BOS) and answer (without) separately, as
 * evaluation harnesses do, so the answer's first token is predicted at the last prompt token.
 */
export function tokenizePrompt(tok: PromptTokenizer, p: RenderedPrompt): TokenizedPrompt {
  const promptIds = tok.encode(p.prompt, { addSpecialTokens: true })
  const answerIds = tok.encode(p.answer, { addSpecialTokens: false })
  if (promptIds.length === 0 || answerIds.length === 0) throw new InvalidTaskParams({ field: "template", reason: "a prompt or an answer tokenizes to nothing", value: p.prompt.slice(-40) })
  return { promptIds, answerIds, preAnswer: promptIds.length - 1 }
}

/** A training episode as tokens, with the answer tokens of every example marked (the loss is read there). */
export interface TokenizedEpisode {
  readonly ids: number[]
  /** 1 where ids[t] is a token of an example's answer */
  readonly answer: Uint8Array
}

/**
 * Tokenize an episode (demonstrations then a last example, all with answers) the way tokenizePrompt cuts
 * an evaluation prompt: each example's text up to its output marker, then its answer, tokenized apart
 * (the first piece with the tokenizer's special tokens), so every answer is predicted from the same kind
 * of boundary the evaluation scores.
 */
export function tokenizeEpisode(tok: PromptTokenizer, t: PromptTemplate, examples: readonly ConceptExample[], instruction?: string): TokenizedEpisode {
  if (examples.length === 0) throw new InvalidTaskParams({ field: "examples", reason: "an episode needs at least one example", value: 0 })
  const ids: number[] = []
  const answer: number[] = []
  examples.forEach((e, i) => {
    const lead = i === 0 ? (instruction ? `${instruction}${t.exampleSeparator}` : "") : t.exampleSeparator
    const before = tok.encode(`${lead}${t.inputPrefix}${e.input}${t.outputPrefix}`, { addSpecialTokens: i === 0 })
    const ans = tok.encode(`${t.answerPrefix}${e.output}`, { addSpecialTokens: false })
    ids.push(...before, ...ans)
    answer.push(...before.map(() => 0), ...ans.map(() => 1))
  })
  return { ids, answer: Uint8Array.from(answer) }
}
