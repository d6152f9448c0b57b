import { type RegressionTaskParams, RegressionTaskParamsSchema, WeightPoolSchema, type WeightPool } from "@conceptscope/task-generators"
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
  /** The position the report's TD and embeddings use; one of `positions` ("last-x", the query token, is the study's). */
  reportPosition: PositionSchema,
  /**
   * "auto": the layer with the highest TD at the final checkpoint on the selection split of the probe
   * set (earliest on ties; at a y token never the last layer, whose output there nothing reads); the
   * headline TD is then measured on the held-out split. Or a fixed layer.
   */
  reportLayer: Schema.optionalWith(Schema.Union(Schema.Literal("auto"), NonNegInt), { default: () => "auto" as const }),
  /** Fraction of each concept's probe sequences in the selection split (the rest are held out). */
  selectionFraction: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1)), { default: () => 0.5 }),
  umapNeighbors: Schema.optionalWith(PosInt, { default: () => 15 }),
  umapMinDist: Schema.optionalWith(Schema.Number.pipe(Schema.nonNegative()), { default: () => 0.1 }),
  linearProbe: Schema.optionalWith(Schema.Boolean, { default: () => true })
})

export const PatchingSchema = Schema.Struct({
  /**
   * The headline layer. "report": the report layer (chosen on the selection split, or fixed), or the
   * layer below it when that is the last layer and the patch is at the query token (patching the last
   * layer there overwrites the read-out itself). Every layer below the last is patched as well, for
   * the per-layer profile; the headline never takes the best of them.
   */
  layer: Schema.optionalWith(Schema.Union(Schema.Literal("report"), NonNegInt), { default: () => "report" as const }),
  /**
   * "subspace" (default): the patched residual's coordinates in the concept subspace (the span of the
   * concept means) are set to the target mean's and the rest of the residual is kept, so the query
   * token keeps its input x and its context; "replace": the whole residual becomes the target mean (the
   * study's wording; at the query token it also erases x, so even self-patching ruins the prediction);
   * "fisher": as "subspace" in the discriminant subspace (the Fisher directions of the within-concept
   * covariance); "add" / "mean-diff": task-vector addition / shift by the difference of concept means.
   */
  mode: Schema.optionalWith(Schema.Literal("subspace", "fisher", "replace", "add", "mean-diff"), { default: () => "subspace" as const }),
  /**
   * "query": the query token (last x), scoring only the prediction made there: works under fresh w,
   * where the y tokens carry the context. "y-tokens": every y token (predictions after the first are
   * scored). "all" or a list of positions.
   */
  positions: Schema.optionalWith(Schema.Union(Schema.Literal("query", "y-tokens", "all"), Schema.NonEmptyArray(Schema.Int)), {
    default: () => "query" as const
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

/** How the two-cluster stage is found in the per-basis loss (the checkpoint the study patches at). */
export const TwoClusterSchema = Schema.Struct({
  /** A basis counts as learned once its loss is within this factor of its lowest loss. */
  learnedFactor: Schema.optionalWith(Schema.Number.pipe(Schema.finite(), Schema.greaterThan(1)), { default: () => 3 }),
  /** The unlearned bases' mean loss must be at least this multiple of the learned ones'. */
  minLossRatio: Schema.optionalWith(Schema.Number.pipe(Schema.finite(), Schema.greaterThan(1)), { default: () => 2 })
})

export const ComputeSchema = Schema.Struct({
  /** Sequences per forward pass in extraction, evaluation and the error curves (can move the last float bits). */
  batchSize: Schema.optionalWith(PosInt, { default: () => 256 })
})

/** The thresholds behind every verdict in reports and seed summaries (the emergence criteria). */
export const CriteriaSchema = Schema.Struct({
  /** A basis counts as learned when its final normalised MSE is at most this. */
  maxFinalNmse: Schema.optionalWith(PositiveNumber, { default: () => 0.1 }),
  /** Held-out TD at the query token at the first checkpoint at most chance (1 / number of concepts) + this. */
  maxTdFirstAboveChance: Schema.optionalWith(Prob, { default: () => 0.15 }),
  /** Held-out TD at the query token at the final checkpoint at least this. */
  minTdFinal: Schema.optionalWith(Prob, { default: () => 0.9 }),
  /** Patching at the final checkpoint: mean off-diagonal loss at least this multiple of the self-patch (diagonal) mean. */
  minPatchingRatio: Schema.optionalWith(PositiveNumber, { default: () => 2 }),
  /** Every basis's loss-TD coupling significant at this level (surrogate p-value of the increment correlation). */
  maxCouplingPValue: Schema.optionalWith(Prob, { default: () => 0.05 }),
  /** Phase-randomised surrogates of the TD increments behind each coupling p-value. */
  couplingSurrogates: Schema.optionalWith(PosInt, { default: () => 999 })
})

/** The study's head pruning on the regression transformer. */
export const HeadsSchema = Schema.Struct({
  /** evaluation sequences per concept (the study: 100) */
  perConcept: Schema.optionalWith(PosInt, { default: () => 100 }),
  /** "zero": the head's output set to 0; "mean": to its mean over the probe set */
  ablations: Schema.optionalWith(Schema.NonEmptyArray(Schema.Literal("zero", "mean")), { default: () => ["zero", "mean"] as ["zero", "mean"] })
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
  /** Head importance at the final checkpoint (each head ablated alone); null: not run. */
  heads: Schema.optionalWith(Schema.NullOr(HeadsSchema), { default: () => Schema.decodeSync(HeadsSchema)({}) }),
  twoCluster: Schema.optionalWith(TwoClusterSchema, { default: () => Schema.decodeSync(TwoClusterSchema)({}) }),
  compute: Schema.optionalWith(ComputeSchema, { default: () => Schema.decodeSync(ComputeSchema)({}) }),
  criteria: Schema.optionalWith(CriteriaSchema, { default: () => Schema.decodeSync(CriteriaSchema)({}) }),
  /** Free-text statements the report shows prominently (what this preset can and cannot show). */
  notes: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** A grid beyond seeds: every listed weight pool x every seed (a task-diversity sweep). */
  grid: Schema.optional(Schema.Struct({ weightPools: Schema.NonEmptyArray(WeightPoolSchema) }))
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

/** Offset of a derived pool seed: the pool of cell seed s is drawn from 1000 s + POOL_SEED_OFFSET. */
export const POOL_SEED_OFFSET = 7

/** The cell's task: a pool without a seed gets one derived from the cell's seed, so seeds redraw the functions. */
export function cellTask(task: RegressionTaskParams, seed: number): RegressionTaskParams {
  const pool = task.weightPool
  return pool.kind === "pool" && pool.seed === undefined ? { ...task, weightPool: { ...pool, seed: seed * 1000 + POOL_SEED_OFFSET } } : task
}

/** A weight pool's grid label: "fresh" or "M<size>". */
export const poolLabel = (pool: WeightPool): string => (pool.kind === "fresh" ? "fresh" : `M${pool.size}`)

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
  if (c.model.yChannel !== undefined && c.model.tokenFormat !== "y-scalar")
    issues.push({ path: ["model", "yChannel"], message: `is for "y-scalar" tokens; "${c.model.tokenFormat}" tokens carry y in their last channel` })
  else if (c.model.yChannel !== undefined && c.model.yChannel > c.task.dim)
    issues.push({ path: ["model", "yChannel"], message: `${c.model.yChannel} is not an input channel (0..task.dim = ${c.task.dim})` })
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
  else if (c.probe.reportLayer === L - 1 && L > 1 && report !== null && report % 2 === 1)
    issues.push({ path: ["probe", "reportLayer"], message: `${c.probe.reportLayer} is the last layer: nothing reads its output at a y token` })
  // leave-one-out kNN needs k other points; pairwise TD (two concepts at a time) has 2 x perConcept - 1
  if (c.probe.k > 2 * c.probe.perConcept - 1)
    issues.push({ path: ["probe", "k"], message: `${c.probe.k} neighbours need more than the ${2 * c.probe.perConcept - 1} other points of a concept pair (2 x probe.perConcept - 1)` })
  const selected = Math.floor(c.probe.perConcept * c.probe.selectionFraction)
  const perSplit = Math.min(selected, c.probe.perConcept - selected)
  if (c.probe.k <= 2 * c.probe.perConcept - 1 && c.probe.k > 2 * perSplit - 1)
    issues.push({ path: ["probe", "selectionFraction"], message: `a split of ${perSplit} sequences per concept is too small for probe.k = ${c.probe.k} neighbours (2 x split - 1 other points of a concept pair)` })
  const layer = c.patching.layer
  if (layer !== "report" && layer >= L)
    issues.push({ path: ["patching", "layer"], message: `${layer} is not a layer of a ${L}-layer model (0..${L - 1})` })
  else if (layer !== "report" && layer === L - 1 && L > 1 && c.patching.positions === "y-tokens")
    issues.push({ path: ["patching", "layer"], message: `${layer} is the last layer: no later layer reads its y-token outputs, so patching them cannot change a prediction` })
  if (Array.isArray(c.patching.positions))
    c.patching.positions.forEach((p, i) => {
      if (positionIndex(p, K) === null) issues.push({ path: ["patching", "positions", i], message: `${p} is outside the ${2 * K} tokens of ${K} examples` })
    })
  issues.push(...memoryIssues(c))
  if (c.task.families && c.task.layout !== "disjoint")
    issues.push({ path: ["task", "layout"], message: `regression families have no basis layout; use "disjoint"` })
  if (c.task.families && c.train.curriculum)
    issues.push({ path: ["train", "curriculum"], message: "a curriculum over dimensions needs a linear task (not regression families)" })
  if (!c.probe.positions.some((p) => positionIndex(p, K) === 2 * K - 2))
    issues.push({ path: ["probe", "positions"], message: `the query token (last-x, token ${2 * K - 2}) must be among them: the summary's headline TD is read there` })
  if (c.patching.perConcept > c.eval.sequences / C)
    issues.push({ path: ["patching", "perConcept"], message: `${c.patching.perConcept} exceeds the ${Math.floor(c.eval.sequences / C)} held-out sequences of each basis (eval.sequences / task.nBases)` })
  return issues
}

export const SyntheticConfigSchema = Schema.Struct(SyntheticFields).pipe(Schema.filter((c) => syntheticConfigIssues(c)))
export type SyntheticConfig = Schema.Schema.Type<typeof SyntheticConfigSchema>
export type SyntheticConfigEncoded = Schema.Schema.Encoded<typeof SyntheticConfigSchema>
