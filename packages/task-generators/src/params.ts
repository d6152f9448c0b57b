/**
 * Parameters of a sparse linear regression mixture (the study's Part 1 task family).
 *
 * A sequence is drawn as: basis b (the latent concept), weight w supported on basis b's
 * coordinates, K examples x_k ~ N(0, I_D), y_k = w.x_k + eps_k with eps_k ~ N(0, noiseVariance).
 *
 * Field by field:
 * - dim (D): input dimension. Study: 16 (24 for the 6-basis variant).
 * - nBases: number of latent bases (concepts). Study: 4 (6; 8 overlapping).
 * - rank (r): coordinates per basis. Study: 4.
 * - layout: "disjoint" (basis b owns coordinates [b*r, (b+1)*r)) or "overlapping" (see masks.ts).
 * - groups: overlapping layout only: number of disjoint coordinate groups (study: 2). Must be a
 *   positive integer in both layouts; ignored by "disjoint".
 * - noiseVariance: variance of eps (0.01 is the study's likely reading of "N(0, 0.01)").
 * - nExamples (K): (x, y) pairs per sequence. Study: 20.
 * - weightPool: { kind: "fresh" } draws w ~ N(0, I) fresh per sequence, masked to the basis (the
 *   study); { kind: "pool", size: M, seed } draws M weight vectors per basis once from `seed` and
 *   each sequence picks one uniformly (M = 1: each basis is one fixed function).
 * - weightScale: w is multiplied by this (std of each active coordinate). Default 1.
 * - families (optional): a mixture of regression families instead of bases (the study's appendix):
 *   concept c is the family families[c], nBases must equal its length, and y_k = f_c(w, x_k) + eps_k
 *   (see families.ts: linear, sparse-linear with `rank` random coordinates, leaky-ReLU, quadratic),
 *   each scaled so that E[f^2] = rank * weightScale^2, the signal of one basis.
 * - weightPool.seed may be left out by a caller that derives it (the pipeline derives it from the
 *   cell's seed); drawing a pool without one is an error.
 *
 * `RegressionTaskParamsSchema` checks types and the cross-field constraints, reporting the field
 * at fault; `RegressionTaskParamsFields` are the plain fields, for composing larger schemas.
 */
import { Effect, Either, ParseResult, Schema } from "effect"
import { InvalidTaskParams } from "./errors.js"

const PositiveInt = Schema.Int.pipe(Schema.positive())

export const LayoutSchema = Schema.Literal("disjoint", "overlapping")
export type Layout = typeof LayoutSchema.Type

export const WeightPoolSchema = Schema.Union(
  Schema.Struct({ kind: Schema.Literal("fresh") }),
  Schema.Struct({
    kind: Schema.Literal("pool"),
    size: PositiveInt,
    seed: Schema.optional(Schema.NonNegativeInt),
    /**
     * Rescale every pool vector to squared norm r * weightScale^2 (its expectation), so that all bases
     * carry the same signal. Without it a basis whose few draws happen to be small is learned last (or
     * never) simply because it contributes little to the loss.
     */
    normalize: Schema.optional(Schema.Boolean)
  })
)
export type WeightPool = typeof WeightPoolSchema.Type

export const FamilySchema = Schema.Literal("linear", "sparse-linear", "leaky-relu", "quadratic")
export type Family = typeof FamilySchema.Type

export const RegressionTaskParamsFields = {
  dim: PositiveInt,
  nBases: PositiveInt,
  rank: PositiveInt,
  layout: LayoutSchema,
  groups: PositiveInt,
  noiseVariance: Schema.Number.pipe(Schema.finite(), Schema.nonNegative()),
  nExamples: PositiveInt,
  weightPool: WeightPoolSchema,
  weightScale: Schema.Number.pipe(Schema.finite(), Schema.positive()),
  families: Schema.optional(Schema.NonEmptyArray(FamilySchema))
}

export interface RegressionTaskParams {
  readonly dim: number
  readonly nBases: number
  readonly rank: number
  readonly layout: Layout
  readonly groups: number
  readonly noiseVariance: number
  readonly nExamples: number
  readonly weightPool: WeightPool
  readonly weightScale: number
  readonly families?: readonly [Family, ...Family[]]
}

interface FieldIssue {
  readonly path: readonly [string]
  readonly message: string
}

/**
 * Constraints between fields (types already checked). Empty when the parameters are consistent.
 * Overlapping layout: with g = dim / groups coordinates and m = nBases / groups bases per group,
 * the bases of a group are distinct cyclic windows of length r, which needs r <= g and
 * m <= g (and m = 1 when r = g, since every window is then the whole group).
 */
export function crossFieldIssues(p: RegressionTaskParams): FieldIssue[] {
  const issues: FieldIssue[] = []
  if (p.families) {
    if (p.families.length !== p.nBases)
      issues.push({ path: ["families"], message: `${p.families.length} families but nBases = ${p.nBases} (one concept per family)` })
    else if (p.rank > p.dim) issues.push({ path: ["rank"], message: `rank = ${p.rank} exceeds dim = ${p.dim}` })
    return issues
  }
  if (p.layout === "disjoint") {
    if (p.rank * p.nBases > p.dim)
      issues.push({
        path: ["rank"],
        message: `rank * nBases = ${p.rank * p.nBases} exceeds dim = ${p.dim} (disjoint bases need rank * nBases <= dim)`
      })
    return issues
  }
  if (p.dim % p.groups !== 0) {
    issues.push({ path: ["groups"], message: `dim = ${p.dim} is not divisible by groups = ${p.groups}` })
    return issues
  }
  if (p.nBases % p.groups !== 0) {
    issues.push({ path: ["nBases"], message: `nBases = ${p.nBases} is not divisible by groups = ${p.groups}` })
    return issues
  }
  const g = p.dim / p.groups
  const m = p.nBases / p.groups
  if (p.rank > g) issues.push({ path: ["rank"], message: `rank = ${p.rank} exceeds the group size dim / groups = ${g}` })
  else if (p.rank === g && m > 1)
    issues.push({
      path: ["rank"],
      message: `rank = ${p.rank} equals the group size, so the ${m} bases of a group would coincide`
    })
  else if (m > g)
    issues.push({
      path: ["nBases"],
      message: `${m} bases per group exceed the ${g} distinct windows a group of ${g} coordinates has`
    })
  return issues
}

/** The checked schema: types, ranges and cross-field constraints. */
export const RegressionTaskParamsSchema = Schema.Struct(RegressionTaskParamsFields).pipe(
  Schema.filter((p) => crossFieldIssues(p))
)

/** The study's main setting: 4 disjoint rank-4 bases in D = 16, K = 20, noise variance 0.01. */
export const studyTaskDefaults: RegressionTaskParams = {
  dim: 16,
  nBases: 4,
  rank: 4,
  layout: "disjoint",
  groups: 2,
  noiseVariance: 0.01,
  nExamples: 20,
  weightPool: { kind: "fresh" },
  weightScale: 1
}

/** The study's 8 overlapping bases in D = 16: bases 0-3 in dims 0-7, bases 4-7 in dims 8-15. */
export const studyOverlappingDefaults: RegressionTaskParams = {
  ...studyTaskDefaults,
  nBases: 8,
  layout: "overlapping",
  groups: 2
}

const toInvalid = (input: unknown, error: ParseResult.ParseError): InvalidTaskParams => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  const field = issue && issue.path.length > 0 ? issue.path.join(".") : "(root)"
  let value: unknown = input
  for (const key of issue?.path ?? []) {
    value = value !== null && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[key] : undefined
  }
  return new InvalidTaskParams({ field, reason: issue?.message ?? String(error), value })
}

/** Validate unknown input synchronously. */
export function validateTaskParams(input: unknown): Either.Either<RegressionTaskParams, InvalidTaskParams> {
  return Either.mapLeft(Schema.decodeUnknownEither(RegressionTaskParamsSchema, { errors: "first" })(input), (e) =>
    toInvalid(input, e)
  )
}

/** Validate unknown input as an Effect. */
export const decodeTaskParams = (input: unknown): Effect.Effect<RegressionTaskParams, InvalidTaskParams> =>
  Either.match(validateTaskParams(input), { onLeft: Effect.fail, onRight: Effect.succeed })

/** The study defaults with `overrides` applied (shallow merge), validated. */
export const makeTaskParams = (
  overrides: Partial<RegressionTaskParams> = {}
): Effect.Effect<RegressionTaskParams, InvalidTaskParams> => decodeTaskParams({ ...studyTaskDefaults, ...overrides })

/** Validate or throw the `InvalidTaskParams` (for the synchronous samplers and solvers). */
export function assertTaskParams(input: unknown): RegressionTaskParams {
  const r = validateTaskParams(input)
  if (Either.isLeft(r)) throw r.left
  return r.right
}

/** Validate, and refuse a mixture of regression families (for references that need basis supports). */
export function assertBasisTask(input: unknown, what: string): RegressionTaskParams {
  const p = assertTaskParams(input)
  if (p.families) throw new InvalidTaskParams({ field: "families", reason: `${what} is defined for basis mixtures only`, value: p.families })
  return p
}
