import { constantLr } from "@conceptscope/finetuners"
import { RegressionTaskParamsSchema } from "@conceptscope/task-generators"
import { Schema } from "effect"

const PosInt = Schema.Int.pipe(Schema.positive())
const NonNegInt = Schema.Int.pipe(Schema.nonNegative())
const Prob = Schema.Number.pipe(Schema.between(0, 1))

/**
 * A token position in the interleaved sequence x_1, y_1, ..., x_K, y_K (0-based, 2K tokens):
 * "last-x" = 2K-2 (the token whose output predicts y_K: "the token before the answer" of the study),
 * "last-y" = 2K-1, or an explicit index (negative counts from the end).
 */
export const PositionSchema = Schema.Union(Schema.Literal("last-x", "last-y"), Schema.Int)
export type Position = Schema.Schema.Type<typeof PositionSchema>

export const ModelSchema = Schema.Struct({
  nLayers: PosInt,
  dModel: PosInt,
  nHeads: PosInt,
  tokenFormat: Schema.optionalWith(Schema.Literal("y-scalar", "xy-pair"), { default: () => "y-scalar" as const })
})

export const TrainSchema = Schema.Struct({
  steps: PosInt,
  batchSize: PosInt,
  lr: Schema.Number.pipe(Schema.positive()),
  beta1: Schema.optionalWith(Prob, { default: () => 0.9 }),
  beta2: Schema.optionalWith(Prob, { default: () => 0.9999 }),
  /** How many checkpoints to keep (dense early, sparse late), step 0 and the last step included. */
  checkpoints: PosInt,
  gradClip: Schema.optional(Schema.Number.pipe(Schema.positive())),
  /** Learning rate over training: linear warmup, then constant, cosine or linear decay to lr * finalFactor. */
  lrSchedule: Schema.optionalWith(
    Schema.Struct({
      decay: Schema.Literal("constant", "cosine", "linear"),
      warmupSteps: Schema.optionalWith(NonNegInt, { default: () => 0 }),
      finalFactor: Schema.optionalWith(Prob, { default: () => 0.1 })
    }),
    { default: () => ({ ...constantLr }) }
  )
})

export const EvalSchema = Schema.Struct({
  /** Held-out sequences for the training curves and the error-vs-K curves. */
  sequences: PosInt
})

export const ProbeSchema = Schema.Struct({
  /** Sequences per concept in the probe set (the study: 100). */
  perConcept: PosInt,
  k: Schema.optionalWith(PosInt, { default: () => 10 }),
  metric: Schema.optionalWith(Schema.Literal("euclidean", "cosine"), { default: () => "euclidean" as const }),
  /** Positions whose residual streams are stored; TD is computed at each. */
  positions: Schema.NonEmptyArray(PositionSchema),
  /** The position the report's TD and embeddings use. */
  reportPosition: PositionSchema,
  /** "auto": the layer with the highest TD at the final checkpoint (earliest on ties). */
  reportLayer: Schema.optionalWith(Schema.Union(Schema.Literal("auto"), NonNegInt), { default: () => "auto" as const }),
  umapNeighbors: Schema.optionalWith(PosInt, { default: () => 15 }),
  umapMinDist: Schema.optionalWith(Schema.Number.pipe(Schema.nonNegative()), { default: () => 0.1 }),
  linearProbe: Schema.optionalWith(Schema.Boolean, { default: () => true })
})

export const PatchingSchema = Schema.Struct({
  /** "auto": every layer below the last (patching layer l only affects layers > l); the report leads with the layer where off/diag is largest. */
  layer: Schema.optionalWith(Schema.Union(Schema.Literal("auto"), NonNegInt), { default: () => "auto" as const }),
  mode: Schema.optionalWith(Schema.Literal("replace", "add", "mean-diff"), { default: () => "replace" as const }),
  /** "y-tokens": every y token (where the concept is read; predictions after the first are scored). */
  positions: Schema.optionalWith(Schema.Union(Schema.Literal("y-tokens", "all"), Schema.NonEmptyArray(Schema.Int)), {
    default: () => "y-tokens" as const
  }),
  perConcept: PosInt
})

export const ConfigSchema = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]+$/, { message: () => "letters, digits, '.', '_' and '-' only" })),
  description: Schema.String,
  /** The sweep grid over seeds: one cell per seed; every random choice of a cell flows from its seed. */
  seeds: Schema.NonEmptyArray(NonNegInt),
  task: RegressionTaskParamsSchema,
  model: ModelSchema,
  train: TrainSchema,
  eval: EvalSchema,
  probe: ProbeSchema,
  patching: PatchingSchema,
  /** Free-text statements the report shows prominently (what this preset can and cannot show). */
  notes: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
})
export type Config = Schema.Schema.Type<typeof ConfigSchema>
export type ConfigEncoded = Schema.Schema.Encoded<typeof ConfigSchema>

/** Resolve a Position to a 0-based token index for K examples (2K tokens). */
export function resolvePosition(p: Position, nExamples: number): number {
  const T = 2 * nExamples
  const idx = p === "last-x" ? T - 2 : p === "last-y" ? T - 1 : p < 0 ? T + p : p
  if (idx < 0 || idx >= T) throw new Error(`position ${p} is outside the ${T} tokens of ${nExamples} examples`)
  return idx
}

export const positionLabel = (p: Position): string => (typeof p === "number" ? `pos${p}` : p)
