import { Schema } from "effect"

/**
 * The model and training parameters of the regression transformer: fields of the synthetic config and
 * parameters of the train stage alike.
 */
const PosInt = Schema.Int.pipe(Schema.positive())
const NonNegInt = Schema.Int.pipe(Schema.nonNegative())
const Prob = Schema.Number.pipe(Schema.between(0, 1))
const PositiveNumber = Schema.Number.pipe(Schema.finite(), Schema.positive())

export const ModelSchema = Schema.Struct({
  nLayers: PosInt,
  dModel: PosInt,
  nHeads: PosInt,
  /** "y-scalar": y tokens embedded as (y, 0, ..., 0) as in the study; "xy-pair": each token carries (x, y). */
  tokenFormat: Schema.optionalWith(Schema.Literal("y-scalar", "xy-pair"), { default: () => "y-scalar" as const }),
  /**
   * "y-scalar" only: the input channel that carries y, 0..task.dim (default 0, the study's; task.dim is the
   * channel x tokens leave 0). Moves y off the first basis's coordinates to test whether sharing y's channel
   * is why that basis is learned first.
   */
  yChannel: Schema.optional(NonNegInt)
})

/** Learning rate over training: linear warmup, then constant, cosine or linear decay to lr x finalFactor. */
export const LrScheduleSchema = Schema.Struct({
  decay: Schema.Literal("constant", "cosine", "linear"),
  warmupSteps: Schema.optionalWith(NonNegInt, { default: () => 0 }),
  finalFactor: Schema.optionalWith(Prob, { default: () => 0.1 })
})

/**
 * A curriculum over active input dimensions (Garg et al. 2022): at step s only the first
 * min(D, startDims + addDims * floor(s / everySteps)) coordinates of x are non-zero, and y is the
 * task's function of that truncated x (plus the same noise). Linear tasks only.
 */
export const CurriculumSchema = Schema.Struct({
  startDims: PosInt,
  addDims: PosInt,
  everySteps: PosInt,
  /**
   * Which coordinates come first. "index": coordinates 0, 1, 2, ... (Garg et al.); under disjoint bases
   * this activates whole bases one after another (a basis curriculum). "basis-rank": every basis's first
   * coordinate, then every basis's second, ... so all bases are present from step 0 at a lower rank.
   */
  order: Schema.optionalWith(Schema.Literal("index", "basis-rank"), { default: () => "index" as const })
})

export const TrainSchema = Schema.Struct({
  steps: PosInt,
  batchSize: PosInt,
  lr: PositiveNumber,
  beta1: Schema.optionalWith(Prob, { default: () => 0.9 }),
  beta2: Schema.optionalWith(Prob, { default: () => 0.9999 }),
  /** How many checkpoints to keep (dense early, sparse late), step 0 and the last step included. */
  checkpoints: PosInt,
  gradClip: Schema.optional(PositiveNumber),
  /** Default: constant. */
  lrSchedule: Schema.optionalWith(LrScheduleSchema, { default: () => ({ decay: "constant" as const, warmupSteps: 0, finalFactor: 1 }) }),
  /** Default: none (every dimension active from step 0). */
  curriculum: Schema.optional(CurriculumSchema)
})

/** What a training run records in its manifest: the saved steps, the backend, the speed, where it resumed, the last batch loss. */
export const TrainMeta = Schema.Struct({
  checkpointSteps: Schema.Array(Schema.Int),
  backend: Schema.String,
  msPerStep: Schema.Number,
  resumedFrom: Schema.NullOr(Schema.Int),
  finalLoss: Schema.NullOr(Schema.Number)
})
