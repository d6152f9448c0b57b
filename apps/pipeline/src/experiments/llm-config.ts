import { BITWISE_CONCEPTS, DEFAULT_TEMPLATE, NULL_CONCEPT, POS_CONCEPTS, PTB_MAPPING, PosMappingSchema, PromptTemplateSchema } from "@conceptscope/task-generators"
import { LORA_TARGETS, type LoraTarget } from "@conceptscope/model-runners"
import { Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * The config of the LLM experiment (the study's Part 2): concept task families rendered as ICL prompts
 * for a causal LM from a local Hugging Face directory; accuracy, the residual stream at the token before
 * the answer, and TD per layer and shot count. Every number that changes a result is a field here.
 */

const PosInt = Schema.Int.pipe(Schema.positive())
const NonNegInt = Schema.Int.pipe(Schema.nonNegative())
const Fraction = Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1))

export const FAMILIES = ["pos", "bitwise"] as const
export type FamilyName = (typeof FAMILIES)[number]

const ExecMode = Schema.optionalWith(Schema.Literal("auto", "memory", "streamed"), { default: () => "auto" as const })

/** A local Hugging Face checkpoint. */
export const LocalModelSchema = Schema.Struct({
  /** A local Hugging Face checkpoint directory (config.json, *.safetensors, tokenizer.json): absolute or relative to the working directory. */
  dir: Schema.String.pipe(Schema.minLength(1)),
  /** "auto": in memory when the float32 weights fit (at most 3 GB), else streamed layer by layer. */
  mode: ExecMode
})

const opt = <S extends Schema.Schema.Any>(s: S, d: Schema.Schema.Type<S>) => Schema.optionalWith(s, { default: () => d as never })
/** A struct whose every field has a default, so `{}` or any part of it decodes. */
const withDefaults = <F extends Schema.Struct.Fields>(fields: F) => {
  const struct = Schema.Struct(fields)
  return Schema.optionalWith(struct, { default: () => Schema.decodeUnknownSync(struct as unknown as Schema.Schema<unknown>)({}) as never })
}
const Weight = Schema.Number.pipe(Schema.positive())
const Share = Schema.Number.pipe(Schema.between(0, 1))

/**
 * The embedded LM: a small Llama pretrained by the pipeline on ICL episodes of both families (train
 * splits only) and plain sentences. Concept frequencies are deliberately unequal (`corpus.weights`, the
 * labels missing there get 1).
 */
export const EmbeddedLmSchema = Schema.Struct({
  size: withDefaults({ nLayers: opt(PosInt, 6), dModel: opt(PosInt, 128), nHeads: opt(PosInt, 4), nKvHeads: opt(PosInt, 2), intermediate: opt(PosInt, 256) }),
  /** Words in the tokenizer besides the special tokens and single characters. */
  vocabWords: opt(PosInt, 2000),
  corpus: withDefaults({
    familyWeights: opt(Schema.Struct({ pos: Weight, bitwise: Weight }), { pos: 1, bitwise: 1 }),
    weights: opt(Schema.Record({ key: Schema.String, value: Weight }), { AND: 30, NAND: 20, OR: 20, NOR: 12, XOR: 10, XNOR: 8, Noun: 30, Verb: 25, Adjective: 15, Preposition: 12, Pronoun: 10, Adverb: 8 }),
    nullFraction: opt(Share, 0.1),
    instructedFraction: opt(Share, 0.2),
    plainFraction: opt(Share, 0.1),
    /**
     * Of the other documents, the share that are POS tagging documents: a sentence's words one by one, each
     * answered with its class or "Other" (every corpus sentence except the POS queries), scored like answers.
     */
    taggedFraction: opt(Share, 0),
    minShots: opt(NonNegInt, 0),
    maxShots: opt(NonNegInt, 6),
    /** Documents the tokenizer's vocabulary is counted on. */
    tokenizerDocs: opt(PosInt, 4000)
  }),
  train: withDefaults({
    steps: opt(PosInt, 1000),
    /** Rows per update, each `maxTokens` tokens of whole documents packed end to end. */
    batchSize: opt(PosInt, 8),
    /** Tokens per row (also max_position_embeddings). */
    maxTokens: opt(PosInt, 256),
    lr: opt(Schema.Number.pipe(Schema.positive()), 2e-3),
    warmupSteps: opt(NonNegInt, 50),
    gradClip: opt(Schema.Number.pipe(Schema.positive()), 1),
    /** Pretraining checkpoints kept (log-spaced, step 0 and the last included), each published as an HF directory. */
    checkpoints: opt(PosInt, 8),
    /** "answers": next-token loss only on the tokens of each demonstration's and query's answer; "all": every token. */
    lossOn: opt(Schema.Literal("answers", "all"), "answers")
  })
})

export const LlmModelSchema = Schema.Union(LocalModelSchema, Schema.Struct({ embedded: EmbeddedLmSchema, mode: ExecMode }))
export type LlmModel = typeof LlmModelSchema.Type
export const isEmbedded = (m: LlmModel): m is Extract<LlmModel, { embedded: unknown }> => "embedded" in m

export const PosSourceSchema = Schema.Struct({
  /** A CoNLL-U (.conllu) or Penn Treebank (.pos word/TAG, .mrg trees) file; default: the shipped UD English EWT dev split. */
  corpus: Schema.optional(Schema.String),
  mapping: Schema.optionalWith(PosMappingSchema, { default: () => PTB_MAPPING }),
  /** Fraction of the kept sentences held out as queries (the study: 80/20). */
  testFraction: Schema.optionalWith(Fraction, { default: () => 0.2 })
})

export const BitwiseSourceSchema = Schema.Struct({
  width: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 12)), { default: () => 5 }),
  testFraction: Schema.optionalWith(Fraction, { default: () => 0.2 })
})

const Instructions = Schema.Record({ key: Schema.String, value: Schema.String })

/** The prompting condition's instruction per label (the concept named in the prompt). */
export const DEFAULT_INSTRUCTIONS: Record<FamilyName, Record<string, string>> = {
  pos: {
    ...Object.fromEntries(POS_CONCEPTS.map((c) => [c, `Find the first ${c === "Preposition" ? "preposition" : c.toLowerCase()} in the sentence.`])),
    [NULL_CONCEPT]: "Answer with a random word of the sentence."
  },
  bitwise: {
    ...Object.fromEntries(BITWISE_CONCEPTS.map((c) => [c, `Compute the bitwise ${c} of the two numbers.`])),
    [NULL_CONCEPT]: "Answer with random bits."
  }
}

export const LlmTdSchema = Schema.Struct({
  /** Neighbours of the leave-one-out kNN (the study: 10). */
  k: Schema.optionalWith(PosInt, { default: () => 10 }),
  metric: Schema.optionalWith(Schema.Literal("euclidean", "cosine"), { default: () => "euclidean" as const }),
  /** UMAP of the peak layer per condition and shot count (the report's figure): neighbours and min_dist. */
  umapNeighbors: Schema.optionalWith(PosInt, { default: () => 15 }),
  umapMinDist: Schema.optionalWith(Schema.Number.pipe(Schema.nonNegative()), { default: () => 0.1 })
})

export const TaskVectorsSchema = Schema.Struct({
  /** Shot count of the plain ICL prompts intervened on (one of `shots`; the study's default is 4). */
  shots: Schema.optionalWith(NonNegInt, { default: () => 4 }),
  /** Random halvings of each label's prompts into mean and evaluation sets (the study: 5). */
  replicates: Schema.optionalWith(PosInt, { default: () => 5 }),
  modes: Schema.optionalWith(Schema.NonEmptyArray(Schema.Literal("add", "replace")), { default: () => ["add", "replace"] as ["add", "replace"] }),
  /**
   * Layer whose residual (`blocks.{layer}.hook_resid_post`) is intervened on: "peak" (the study: the peak
   * TD layer lm-td chose) or a layer index; the report splits concepts into TD halves at this layer.
   */
  layer: Schema.optionalWith(Schema.Union(Schema.Literal("peak"), NonNegInt), { default: () => "peak" as const })
})

/**
 * LoRA finetuning of the first k vs the last k layers (the study's Table 1), evaluated with the pretrained
 * model and the prompting condition at `promptingShots`.
 */
export const FinetuneSchema = Schema.Struct({
  /** k layers at each end (the study: 10 of Llama-3.1-8B's 32); null: a third of the model's layers, at least 1. */
  k: Schema.optionalWith(Schema.NullOr(PosInt), { default: () => null }),
  /** LoRA rank, alpha, dropout and target modules (the study: 16, 16, 0.1, every projection). */
  r: Schema.optionalWith(PosInt, { default: () => 16 }),
  alpha: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 16 }),
  dropout: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(0), Schema.lessThan(1)), { default: () => 0.1 }),
  targets: Schema.optionalWith(Schema.NonEmptyArray(Schema.Literal(...LORA_TARGETS)), { default: () => [...LORA_TARGETS] as [LoraTarget, ...LoraTarget[]] }),
  /** Updates, episodes per update, Adam's peak learning rate (linear warmup, cosine decay to 0.1x). */
  steps: Schema.optionalWith(PosInt, { default: () => 200 }),
  batchSize: Schema.optionalWith(PosInt, { default: () => 8 }),
  lr: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 1e-3 }),
  warmupSteps: Schema.optionalWith(NonNegInt, { default: () => 10 }),
  /** Demonstrations per training episode, drawn uniformly (train split only). */
  minShots: Schema.optionalWith(NonNegInt, { default: () => 1 }),
  maxShots: Schema.optionalWith(NonNegInt, { default: () => 6 })
})

/** TD and accuracy over a model's training checkpoints (the study's OLMo trajectory). */
export const TrajectorySchema = Schema.Struct({
  /** "embedded": the embedded LM's own pretraining checkpoints; or checkpoint directories with their training steps (e.g. OLMo revisions), at least 3 */
  checkpoints: Schema.Union(Schema.Literal("embedded"), Schema.Array(Schema.Struct({ step: NonNegInt, dir: Schema.String.pipe(Schema.minLength(1)) }))),
  /** the plain ICL shot count evaluated (one of `shots`); null: the largest */
  shots: Schema.optionalWith(Schema.NullOr(NonNegInt), { default: () => null })
})

/** Head importance: each attention head ablated alone (the study's head pruning). */
export const HeadsSchema = Schema.Struct({
  /** the plain ICL shot count evaluated (one of `shots`); null: taskVectors.shots */
  shots: Schema.optionalWith(Schema.NullOr(NonNegInt), { default: () => null }),
  /** "zero": the head's output set to 0; "mean": to its mean over the prompt tokens */
  ablations: Schema.optionalWith(Schema.NonEmptyArray(Schema.Literal("zero", "mean")), { default: () => ["zero", "mean"] as ["zero", "mean"] }),
  /** prompts per concept evaluated (the first items of each label); null: all `perConcept` */
  perConcept: Schema.optionalWith(Schema.NullOr(PosInt), { default: () => null })
})

export const LlmFields = {
  experiment: Schema.Literal("llm"),
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: () => "letters, digits, '.', '_' and '-' only, not starting with '.' or '-'" })),
  description: Schema.String,
  /** One cell per family and seed; the seed draws the train/test split and every prompt. */
  seeds: Schema.Array(NonNegInt).pipe(Schema.minItems(1, { message: () => "at least one seed" })),
  model: LlmModelSchema,
  families: Schema.optionalWith(Schema.NonEmptyArray(Schema.Literal(...FAMILIES)), { default: () => [...FAMILIES] as [FamilyName, ...FamilyName[]] }),
  pos: Schema.optionalWith(PosSourceSchema, { default: () => Schema.decodeSync(PosSourceSchema)({}) }),
  bitwise: Schema.optionalWith(BitwiseSourceSchema, { default: () => Schema.decodeSync(BitwiseSourceSchema)({}) }),
  template: Schema.optionalWith(PromptTemplateSchema, { default: () => DEFAULT_TEMPLATE }),
  /** Shot counts (the study: 1, 4, 10). */
  shots: Schema.optionalWith(Schema.NonEmptyArray(NonNegInt), { default: () => [1, 4, 10] as [number, ...number[]] }),
  /** Prompts per label (concepts and Null) and shot count (the study: 100). */
  perConcept: Schema.optionalWith(PosInt, { default: () => 100 }),
  /** The prompting condition (concept named in the prompt) at this shot count; null: not run. */
  promptingShots: Schema.optionalWith(Schema.NullOr(NonNegInt), { default: () => 4 }),
  instructions: Schema.optionalWith(Schema.Struct({ pos: Instructions, bitwise: Instructions }), { default: () => DEFAULT_INSTRUCTIONS }),
  td: Schema.optionalWith(LlmTdSchema, { default: () => Schema.decodeSync(LlmTdSchema)({}) }),
  taskVectors: Schema.optionalWith(TaskVectorsSchema, { default: () => Schema.decodeSync(TaskVectorsSchema)({}) }),
  /** Head importance per concept; null: not run. */
  heads: Schema.optionalWith(Schema.NullOr(HeadsSchema), { default: () => null }),
  /** TD and accuracy over training checkpoints, with their coupling; null: not run. */
  trajectory: Schema.optionalWith(Schema.NullOr(TrajectorySchema), { default: () => null }),
  /** Table 1 (LoRA on the first vs the last layers); null: not run. Needs promptingShots. */
  finetune: Schema.optionalWith(Schema.NullOr(FinetuneSchema), { default: () => null }),
  /**
   * How an answer counts as correct (accuracy and task vectors): "teacher-forced" (every answer token is the
   * argmax given the gold prefix; one forward pass) or "generate" (greedy generation must produce the answer
   * and then stop: EOS or the template's next example; answer length + 1 decoding steps).
   */
  scoring: Schema.optionalWith(Schema.Literal("teacher-forced", "generate"), { default: () => "teacher-forced" as const }),
  /** Prompts per forward pass (prompts of one token length share a batch). */
  batchSize: Schema.optionalWith(PosInt, { default: () => 16 }),
  notes: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
}

type Fields = Schema.Struct.Type<typeof LlmFields>

interface Issue {
  readonly path: readonly (string | number)[]
  readonly message: string
}

export function llmConfigIssues(c: Fields): Issue[] {
  const issues: Issue[] = []
  if (isEmbedded(c.model)) {
    const e = c.model.embedded
    if (c.seeds.length !== 1)
      issues.push({ path: ["seeds"], message: "an embedded model is pretrained on one seed's train split; list one seed (another seed's queries would be in that split)" })
    if (e.corpus.maxShots < e.corpus.minShots) issues.push({ path: ["model", "embedded", "corpus", "maxShots"], message: `${e.corpus.maxShots} is below minShots ${e.corpus.minShots}` })
    if (e.train.warmupSteps >= e.train.steps) issues.push({ path: ["model", "embedded", "train", "warmupSteps"], message: `${e.train.warmupSteps} is not below steps (${e.train.steps})` })
    if (e.size.dModel % e.size.nHeads !== 0 || (e.size.dModel / e.size.nHeads) % 2 !== 0)
      issues.push({ path: ["model", "embedded", "size", "nHeads"], message: `dModel ${e.size.dModel} must split into ${e.size.nHeads} heads of even size` })
    if (e.size.nHeads % e.size.nKvHeads !== 0) issues.push({ path: ["model", "embedded", "size", "nKvHeads"], message: `nHeads ${e.size.nHeads} is not a multiple of ${e.size.nKvHeads}` })
  } else {
    const dir = path.resolve(c.model.dir)
    if (!fs.existsSync(path.join(dir, "config.json"))) issues.push({ path: ["model", "dir"], message: `${dir} has no config.json (a local Hugging Face checkpoint directory is needed)` })
  }
  if (c.pos.corpus !== undefined && c.families.includes("pos") && !fs.existsSync(path.resolve(c.pos.corpus)))
    issues.push({ path: ["pos", "corpus"], message: `${path.resolve(c.pos.corpus)} does not exist` })
  if (c.td.k > 2 * c.perConcept - 1)
    issues.push({ path: ["td", "k"], message: `${c.td.k} neighbours need more than the ${2 * c.perConcept - 1} other points of a concept pair (2 x perConcept - 1)` })
  if (!c.shots.includes(c.taskVectors.shots)) issues.push({ path: ["taskVectors", "shots"], message: `${c.taskVectors.shots} is not among shots (${c.shots.join(", ")})` })
  if (c.promptingShots !== null && !c.shots.includes(c.promptingShots))
    issues.push({ path: ["promptingShots"], message: `${c.promptingShots} is not among shots (${c.shots.join(", ")}): the prompting condition is compared with plain ICL at the same shot count` })
  const tr = c.trajectory
  if (tr !== null) {
    if (tr.checkpoints === "embedded" && !isEmbedded(c.model)) issues.push({ path: ["trajectory", "checkpoints"], message: '"embedded" needs the embedded model; list the checkpoint directories of a local model instead' })
    if (tr.checkpoints !== "embedded") {
      if (tr.checkpoints.length < 3) issues.push({ path: ["trajectory", "checkpoints"], message: `${tr.checkpoints.length} checkpoints: the coupling statistics need at least 3` })
      tr.checkpoints.forEach((ck, i) => {
        if (!fs.existsSync(path.join(path.resolve(ck.dir), "config.json"))) issues.push({ path: ["trajectory", "checkpoints", i, "dir"], message: `${path.resolve(ck.dir)} has no config.json` })
      })
    }
    if (tr.shots !== null && !c.shots.includes(tr.shots)) issues.push({ path: ["trajectory", "shots"], message: `${tr.shots} is not among shots (${c.shots.join(", ")})` })
  }
  if (c.heads !== null && c.heads.shots !== null && !c.shots.includes(c.heads.shots))
    issues.push({ path: ["heads", "shots"], message: `${c.heads.shots} is not among shots (${c.shots.join(", ")})` })
  if (c.finetune !== null && c.promptingShots === null)
    issues.push({ path: ["finetune"], message: "Table 1 compares the finetuned models with the prompting condition at promptingShots: set promptingShots" })
  if (c.finetune !== null && c.finetune.maxShots < c.finetune.minShots)
    issues.push({ path: ["finetune", "maxShots"], message: `${c.finetune.maxShots} is below minShots ${c.finetune.minShots}` })
  if (c.finetune !== null && c.finetune.warmupSteps >= c.finetune.steps)
    issues.push({ path: ["finetune", "warmupSteps"], message: `${c.finetune.warmupSteps} is not below steps (${c.finetune.steps})` })
  if (new Set(c.shots).size !== c.shots.length) issues.push({ path: ["shots"], message: "lists a shot count twice" })
  for (const fam of FAMILIES) {
    const labels: readonly string[] = fam === "pos" ? [...POS_CONCEPTS, NULL_CONCEPT] : [...BITWISE_CONCEPTS, NULL_CONCEPT]
    const missing = labels.filter((l) => c.instructions[fam][l] === undefined)
    if (c.promptingShots !== null && c.families.includes(fam) && missing.length > 0)
      issues.push({ path: ["instructions", fam], message: `no instruction for ${missing.join(", ")}` })
  }
  return issues
}

export const LlmConfigSchema = Schema.Struct(LlmFields).pipe(Schema.filter((c) => llmConfigIssues(c)))
export type LlmConfig = Schema.Schema.Type<typeof LlmConfigSchema>
