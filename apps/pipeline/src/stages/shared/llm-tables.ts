import type { ArtifactRef } from "@conceptscope/artifacts"
import { JsonSafeNumber } from "@conceptscope/core"
import { Schema } from "effect"
import * as path from "node:path"
import { readRecords, stageTry } from "./io.js"

/** Where the embedded LM's Hugging Face directory lies inside the lm-model artifact. */
export const EMBEDDED_MODEL_DIR = "model"
/** the embedded LM's pretraining checkpoints: `<lm-model artifact>/checkpoints/step-N/` (HF directories) */
export const CHECKPOINTS_DIR = "checkpoints"
/** lm-finetune's adapters: `<artifact>/adapters/<variant>/` (PEFT layout). */
export const ADAPTERS_DIR = "adapters"

/**
 * The metadata of the lm-model stage: where the checkpoint is (absolute, or relative to the artifact for
 * the embedded LM), its content fingerprint, its dimensions and, for the embedded LM, its pretraining.
 */
export const LmModelMeta = Schema.Struct({
  dir: Schema.String,
  fingerprint: Schema.String,
  modelType: Schema.String,
  nLayers: Schema.Int,
  dModel: Schema.Int,
  pretraining: Schema.NullOr(
    Schema.Struct({ finalLoss: Schema.NullOr(Schema.Number), msPerStep: Schema.Number, resumedFrom: Schema.NullOr(Schema.Int), vocab: Schema.Int, tokensPerStep: Schema.Number })
  ),
  /** the embedded LM's pretraining checkpoints (dir relative to the artifact); none for a local checkpoint */
  checkpoints: Schema.Array(Schema.Struct({ step: Schema.Int, dir: Schema.String }))
})

/** The lm-model metadata an LLM stage's input carries, with `dir` resolved to an absolute path. */
export const readModelMeta = (stage: string, ref: ArtifactRef) =>
  stageTry(stage, () => {
    const meta = Schema.decodeUnknownSync(LmModelMeta)(ref.manifest.meta)
    return { ...meta, dir: path.isAbsolute(meta.dir) ? meta.dir : path.join(ref.dir, meta.dir) }
  })

/**
 * The tables the LLM stages write, and their readers (one place per format).
 *
 * `prompts.parquet` of the prompts stage: one row per prompt; `row` is its index, which the residual
 * store's seq_id and the answers table refer to.
 */
export const PROMPTS_SPEC = {
  row: "int32",
  label: "string",
  label_index: "int32",
  item: "int32",
  shots: "int32",
  instructed: "bool",
  prompt: "string",
  answer: "string"
} as const

export const readPrompts = (ref: ArtifactRef) => readRecords(ref, "prompts.parquet", PROMPTS_SPEC)

/**
 * The first held-out item: each label's items below it select (the peak layer), the rest are held out
 * (the headline TD). Items are 0..perLabel-1 per label.
 */
export const heldOutFrom = (prompts: readonly { readonly item: number }[]): number => Math.floor((Math.max(...prompts.map((p) => p.item)) + 1) / 2)

/**
 * `answers.parquet` of the lm-run stage: per prompt its token counts, the position of the token before
 * the answer (where residuals are read), whether greedy decoding gives exactly the answer (teacher
 * forced: every answer token is the argmax given the gold prefix), and the answer's log-probability.
 */
export const ANSWERS_SPEC = {
  row: "int32",
  prompt_tokens: "int32",
  answer_tokens: "int32",
  pre_answer: "int32",
  correct: "bool",
  log_prob: "float64",
  /** the tokens greedy generation produced (space-separated ids; empty when scoring is teacher-forced) */
  generated: "string"
} as const

export const readAnswers = (ref: ArtifactRef) => readRecords(ref, "answers.parquet", ANSWERS_SPEC)

/**
 * `td.parquet` of the lm-td stage: one row per (condition, shots, layer); layer -1 is hook_embed.
 * td is the mean over the concepts (Null is a label of the classifier but not in the mean), td_null the
 * Null class's own; _selection / _heldout are computed within each half of the items (item < perConcept / 2
 * is the selection half, where the peak layer is chosen). per_concept: one entry per label, Null last.
 */
export const LM_TD_SPEC = (nLabels: number) =>
  ({
    condition: "string",
    shots: "int32",
    layer: "int32",
    td: "float64",
    td_null: "float64",
    td_selection: "float64",
    td_heldout: "float64",
    per_concept: { vector: nLabels },
    per_concept_heldout: { vector: nLabels }
  }) as const

/** `accuracy.parquet` of the lm-td stage: one row per (condition, shots, label). */
export const LM_ACCURACY_SPEC = { condition: "string", shots: "int32", label: "string", accuracy: "float64", n: "int32" } as const

/**
 * `embeddings.parquet` of the lm-td stage: UMAP of the peak layer's vectors, one row per prompt of each
 * (condition, shots); label is the label index (Null last), item the prompt's item within its label.
 */
export const LM_EMBEDDINGS_SPEC = { condition: "string", shots: "int32", layer: "int32", x: "float32", y: "float32", label: "int32", item: "int32" } as const

export const readLmEmbeddings = (ref: ArtifactRef) => readRecords(ref, "embeddings.parquet", LM_EMBEDDINGS_SPEC)
export const readLmTd = (ref: ArtifactRef, nLabels: number) => readRecords(ref, "td.parquet", LM_TD_SPEC(nLabels))
export const readLmAccuracy = (ref: ArtifactRef) => readRecords(ref, "accuracy.parquet", LM_ACCURACY_SPEC)

/**
 * `vectors.parquet` of the task-vectors stage: one row per (replicate, mode, sign, concept): accuracy of
 * the concept's evaluation prompts without (accuracy_base) and with the intervention.
 */
export const VECTORS_SPEC = {
  replicate: "int32",
  mode: "string",
  sign: "string",
  label: "string",
  n: "int32",
  accuracy_base: "float64",
  accuracy: "float64"
} as const

export const readVectors = (ref: ArtifactRef) => readRecords(ref, "vectors.parquet", VECTORS_SPEC)

/** `table1.parquet` of lm-table1: one row per (variant, concept). */
export const LM_TABLE1_SPEC = { variant: "string", label: "string", td_pretrained_peak: "float64", td_own_peak: "float64", accuracy: "float64" } as const

const Stat = Schema.Struct({ mean: Schema.Number, spread: Schema.Number, perConcept: Schema.Array(Schema.Number) })

/** `table1.json` of lm-table1. */
export const Table1Summary = Schema.Struct({
  shots: Schema.Int,
  pretrainedPeak: Schema.Int,
  rows: Schema.Array(
    Schema.Struct({
      name: Schema.String,
      layers: Schema.NullOr(Schema.Array(Schema.Int)),
      ownPeak: Schema.Int,
      tdAtPretrainedPeak: Stat,
      tdAtOwnPeak: Stat,
      accuracy: Stat,
      tdByLayer: Schema.Array(Schema.Number)
    })
  ),
  unchangedBelow: Schema.Array(
    Schema.Struct({ variant: Schema.String, firstTrainedLayer: Schema.Int, layersChecked: Schema.Array(Schema.Int), maxAbsDiff: Schema.Number, tdMaxDiff: Schema.Number })
  )
})
export type Table1Summary = typeof Table1Summary.Type

/** `trajectory.parquet` of lm-trajectory: one row per (checkpoint step, concept). */
export const LM_TRAJECTORY_SPEC = { step: "int32", label: "string", td: "float64", accuracy: "float64", own_peak: "int32" } as const

/** conceptCoupling (probes) of accuracy (in the place of the negated loss) and TD over checkpoints. */
const Coupling = Schema.Struct({
  /** the step where accuracy rises halfway */
  lossHalfStep: Schema.NullOr(JsonSafeNumber),
  tdHalfStep: Schema.NullOr(JsonSafeNumber),
  lagSteps: Schema.NullOr(JsonSafeNumber),
  rateCorrelation: JsonSafeNumber,
  pValue: JsonSafeNumber,
  lagPValue: Schema.NullOr(JsonSafeNumber)
})

/** `trajectory.json` of lm-trajectory (empty lists when the config has no trajectory). */
export const TrajectorySummary = Schema.Struct({
  shots: Schema.Int,
  layer: Schema.Int,
  steps: Schema.Array(Schema.Int),
  tdMean: Schema.Array(JsonSafeNumber),
  tdSpread: Schema.Array(JsonSafeNumber),
  accuracyMean: Schema.Array(JsonSafeNumber),
  accuracySpread: Schema.Array(JsonSafeNumber),
  ownPeak: Schema.Array(Schema.Int),
  coupling: Schema.NullOr(Coupling),
  perConcept: Schema.Array(Schema.Struct({ label: Schema.String, coupling: Schema.NullOr(Coupling) }))
})
export type TrajectorySummary = typeof TrajectorySummary.Type

/** `heads.parquet` of lm-heads: one row per (layer, head, ablation, concept). */
export const LM_HEADS_SPEC = {
  layer: "int32",
  head: "int32",
  ablation: "string",
  label: "string",
  accuracy_base: "float64",
  accuracy: "float64",
  loss_base: "float64",
  loss: "float64"
} as const

/** `heads.json` of lm-heads (no modes when the config has no `heads`). */
export const HeadsSummary = Schema.Struct({
  shots: Schema.Int,
  nLayers: Schema.Int,
  nHeads: Schema.Int,
  concepts: Schema.Array(Schema.String),
  modes: Schema.Array(
    Schema.Struct({
      ablation: Schema.String,
      /** [layer][head]: mean over concepts of the change of the answer loss (-log p) */
      lossChange: Schema.Array(Schema.Array(JsonSafeNumber)),
      accuracyChange: Schema.Array(Schema.Array(JsonSafeNumber)),
      /** per concept: its [layer][head] loss change, and the head whose ablation raises its loss most */
      perConcept: Schema.Array(Schema.Struct({ label: Schema.String, lossChange: Schema.Array(Schema.Array(JsonSafeNumber)) })),
      topHead: Schema.Array(Schema.Struct({ label: Schema.String, layer: Schema.Int, head: Schema.Int, lossChange: JsonSafeNumber }))
    })
  )
})
export type HeadsSummary = typeof HeadsSummary.Type
