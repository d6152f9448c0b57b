import { RegressionTaskParamsSchema } from "@conceptscope/task-generators"
import { Schema } from "effect"
import { ModelSchema, TrainSchema } from "../stages/shared/train-params.js"

/**
 * The config of the synthetic experiment (sparse linear regression mixtures, the study's Part 1).
 * Every number that changes a result is a field here, with its default; every check between fields
 * is part of the schema, so `conceptscope validate` catches it before any work.
 */

const PosInt = Schema.Int.pipe(Schema.positive())
const NonNegInt = Schema.Int.pipe(Schema.nonNegative())
const Prob = Schema.Number.pipe(Schema.between(0, 1))
const PositiveNumber = Schema.Number.pipe(Schema.finite(), Schema.positive())

/**
 * A token position in the interleaved sequence x_1, y_1, ..., x_K, y_K (0-based, 2K tokens):
 * "last-x" = 2K-2 (the token whose output predicts y_K: "the token before the answer" of the study),
 * "last-y" = 2K-1, or an explicit index (negative counts from the end).
 */
export const PositionSchema = Schema.Union(Schema.Literal("last-x", "last-y"), Schema.Int)
export type Position = Schema.Schema.Type<typeof PositionSchema>

export const EvalSchema = Schema.Struct({
  /** Held-out sequences (a multiple of task.nBases, exactly as many of each basis) for the training curves, patching and error-vs-k. */
  sequences: PosInt,
  /** The evaluation set's seed is 1000 x the cell's seed + seedOffset. */
  seedOffset: Schema.optionalWith(NonNegInt, { default: () => 1 })
})

export const ProbeSchema = Schema.Struct({
  /** Sequences per concept in the probe set (the study: 100). */
  perConcept: PosInt,
  /** The probe set's seed is 1000 x the cell's seed + seedOffset. */
  seedOffset: Schema.optionalWith(NonNegInt, { default: () => 2 }),
  /** Neighbours of the leave-one-out kNN (the study: 10). */
  k: Schema.optionalWith(PosInt, { default: () => 10 }),
  metric: Schema.optionalWith(Schema.Literal("euclidean", "cosine"), { default: () => "euclidean" as const }),
  /** Positions whose residual streams are stored; TD is computed at each. */
  positions: Schema.NonEmptyArray(PositionSchema),
  /** The position the report's TD and embeddings use; one of `positions`. */
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
  /** Held-out sequences per source basis. */
  perConcept: PosInt
})

export const CurvesSchema = Schema.Struct({
  /** Ridge penalty of the ridge baseline (all dims). */
  ridge: Schema.optionalWith(PositiveNumber, { default: () => 0.1 }),
  /** L1 penalty of the lasso baseline. */
  lassoAlpha: Schema.optionalWith(PositiveNumber, { default: () => 0.01 })
})

export const ComputeSchema = Schema.Struct({
  /** Sequences per forward pass in extraction, evaluation and the error curves (can move the last float bits). */
  batchSize: Schema.optionalWith(PosInt, { default: () => 256 })
})

/** The thresholds behind every verdict in reports and seed summaries (the emergence criteria). */
export const CriteriaSchema = Schema.Struct({
  /** A basis counts as learned when its final normalised MSE is at most this. */
  maxFinalNmse: Schema.optionalWith(PositiveNumber, { default: () => 0.1 }),
  /** TD at the first checkpoint at most chance (1 / number of concepts) + this. */
  maxTdFirstAboveChance: Schema.optionalWith(Prob, { default: () => 0.15 }),
  /** TD at the final checkpoint at least this (also where a concept counts as separated). */
  minTdFinal: Schema.optionalWith(Prob, { default: () => 0.9 }),
  /** Patching: mean off-diagonal loss at least this multiple of the diagonal mean. */
  minPatchingRatio: Schema.optionalWith(PositiveNumber, { default: () => 2 })
})

export const SyntheticFields = {
  experiment: Schema.optionalWith(Schema.Literal("synthetic"), { default: () => "synthetic" as const }),
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: () => "letters, digits, '.', '_' and '-' only, not starting with '.' or '-'" })),
  description: Schema.String,
  /** The sweep grid over seeds: one cell per seed; every random choice of a cell flows from its seed. */
  seeds: Schema.Array(NonNegInt).pipe(Schema.minItems(1, { message: () => "at least one seed" })),
  task: RegressionTaskParamsSchema,
  model: ModelSchema,
  train: TrainSchema,
  eval: EvalSchema,
  probe: ProbeSchema,
  patching: PatchingSchema,
  curves: Schema.optionalWith(CurvesSchema, { default: () => Schema.decodeSync(CurvesSchema)({}) }),
  compute: Schema.optionalWith(ComputeSchema, { default: () => Schema.decodeSync(ComputeSchema)({}) }),
  criteria: Schema.optionalWith(CriteriaSchema, { default: () => Schema.decodeSync(CriteriaSchema)({}) }),
  /** Free-text statements the report shows prominently (what this preset can and cannot show). */
  notes: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
}

type Fields = Schema.Struct.Type<typeof SyntheticFields>

/** Resolve a Position to a 0-based token index for K examples (2K tokens); null when outside. */
export function positionIndex(p: Position, nExamples: number): number | null {
  const T = 2 * nExamples
  const idx = p === "last-x" ? T - 2 : p === "last-y" ? T - 1 : p < 0 ? T + p : p
  return idx >= 0 && idx < T ? idx : null
}

/** Resolve a Position of a validated config (the schema has checked that it is inside the sequence). */
export const resolvePosition = (p: Position, nExamples: number): number => positionIndex(p, nExamples)!

export const positionLabel = (p: Position): string => (typeof p === "number" ? `pos${p}` : p)

interface Issue {
  readonly path: readonly (string | number)[]
  readonly message: string
}

const GB = 1e9
/** The largest buffer one typed array can hold here (2 GiB keeps clear of V8's limits). */
const MAX_BUFFER = 2 ** 31
/** What training can use of the wasm backend's 4 GB heap. */
const MAX_TRAINING = 3 * GB

/** Sizes that cannot fit in memory, reported at the field that makes them large (estimates, float32). */
function memoryIssues(c: Fields): Issue[] {
  const { dim: D, nExamples: K, nBases: C } = c.task
  const { nLayers: L, dModel: d } = c.model
  const issues: Issue[] = []
  // weights: 12 d^2 per layer plus read-in, positions and read-out; training keeps weights, master copy,
  // gradients and Adam's two moments (5 copies)
  const readIn = d * (D + 1)
  const params = L * 12 * d * d + readIn + 2 * K * d + d
  if (5 * 4 * params > MAX_TRAINING)
    issues.push({
      path: readIn > params / 2 ? ["task", "dim"] : ["model", "dModel"],
      message: `a ${L}-layer width-${d} model on ${D}-dim inputs needs about ${((5 * 4 * params) / GB).toFixed(1)} GB to train (weights, gradients, Adam), more than the ${MAX_TRAINING / GB} GB the tensor backend can hold`
    })
  const perSequence = 4 * K * (D + 1)
  for (const [path, n] of [[["eval", "sequences"], c.eval.sequences], [["probe", "perConcept"], c.probe.perConcept * C], [["train", "batchSize"], c.train.batchSize]] as const)
    if (n * perSequence > MAX_BUFFER)
      issues.push({ path, message: `${n} sequences of ${K} examples in ${D} dims take ${((n * perSequence) / GB).toFixed(1)} GB, more than one buffer can hold (${(MAX_BUFFER / GB).toFixed(1)} GB)` })
  const shard = 4 * c.probe.perConcept * C * c.probe.positions.length * d
  if (shard > MAX_BUFFER)
    issues.push({ path: ["probe", "perConcept"], message: `one checkpoint-layer of probe activations (${c.probe.perConcept * C} sequences x ${c.probe.positions.length} positions x ${d} dims) takes ${(shard / GB).toFixed(1)} GB, more than one buffer can hold` })
  return issues
}

/** Every constraint between fields, reported at the field at fault. */
export function syntheticConfigIssues(c: Fields): Issue[] {
  const issues: Issue[] = []
  const K = c.task.nExamples
  const L = c.model.nLayers
  const C = c.task.nBases
  if (c.model.dModel % c.model.nHeads !== 0)
    issues.push({ path: ["model", "dModel"], message: `${c.model.dModel} is not divisible by model.nHeads (${c.model.nHeads})` })
  if (c.train.lrSchedule.warmupSteps >= c.train.steps)
    issues.push({ path: ["train", "lrSchedule", "warmupSteps"], message: `${c.train.lrSchedule.warmupSteps} is not below train.steps (${c.train.steps})` })
  if (c.eval.sequences % C !== 0)
    issues.push({ path: ["eval", "sequences"], message: `${c.eval.sequences} is not a multiple of task.nBases (${C}): the set holds the same number of every basis` })
  c.probe.positions.forEach((p, i) => {
    if (positionIndex(p, K) === null) issues.push({ path: ["probe", "positions", i], message: `${p} is outside the ${2 * K} tokens of ${K} examples` })
  })
  const report = positionIndex(c.probe.reportPosition, K)
  if (report === null) issues.push({ path: ["probe", "reportPosition"], message: `${c.probe.reportPosition} is outside the ${2 * K} tokens of ${K} examples` })
  else if (!c.probe.positions.some((p) => positionIndex(p, K) === report))
    issues.push({ path: ["probe", "reportPosition"], message: `token ${report} is not among probe.positions, so no TD is computed there` })
  if (c.probe.reportLayer !== "auto" && c.probe.reportLayer >= L)
    issues.push({ path: ["probe", "reportLayer"], message: `${c.probe.reportLayer} is not a layer of a ${L}-layer model (0..${L - 1})` })
  // leave-one-out kNN needs k other points; pairwise TD (two concepts at a time) has 2 x perConcept - 1
  if (c.probe.k > 2 * c.probe.perConcept - 1)
    issues.push({ path: ["probe", "k"], message: `${c.probe.k} neighbours need more than the ${2 * c.probe.perConcept - 1} other points of a concept pair (2 x probe.perConcept - 1)` })
  const layer = c.patching.layer
  if (layer !== "auto" && layer >= L)
    issues.push({ path: ["patching", "layer"], message: `${layer} is not a layer of a ${L}-layer model (0..${L - 1})` })
  else if (layer !== "auto" && layer === L - 1 && L > 1 && c.patching.positions === "y-tokens")
    issues.push({ path: ["patching", "layer"], message: `${layer} is the last layer: no later layer reads its y-token outputs, so patching them cannot change a prediction` })
  if (Array.isArray(c.patching.positions))
    c.patching.positions.forEach((p, i) => {
      if (positionIndex(p, K) === null) issues.push({ path: ["patching", "positions", i], message: `${p} is outside the ${2 * K} tokens of ${K} examples` })
    })
  issues.push(...memoryIssues(c))
  if (c.patching.perConcept > c.eval.sequences / C)
    issues.push({ path: ["patching", "perConcept"], message: `${c.patching.perConcept} exceeds the ${Math.floor(c.eval.sequences / C)} held-out sequences of each basis (eval.sequences / task.nBases)` })
  return issues
}

export const SyntheticConfigSchema = Schema.Struct(SyntheticFields).pipe(Schema.filter((c) => syntheticConfigIssues(c)))
export type SyntheticConfig = Schema.Schema.Type<typeof SyntheticConfigSchema>
export type SyntheticConfigEncoded = Schema.Schema.Encoded<typeof SyntheticConfigSchema>
