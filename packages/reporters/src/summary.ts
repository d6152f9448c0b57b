/**
 * The headline numbers of one run, written as summary.json and read back by sweeps and CI.
 *
 * Choice: JSON has no NaN or Infinity (JSON.stringify writes null, which would not round-trip), so
 * non-finite numbers are encoded as the strings "NaN", "Infinity", "-Infinity" and decoded back.
 * Finite numbers are written verbatim.
 */
import { Effect, ParseResult, Schema } from "effect"
import { JsonSafeNumber } from "@conceptscope/core"
import { SummaryDecodeError } from "./errors.js"

/** A number that survives JSON (non-finite values as strings; see @conceptscope/core). */
export { JsonSafeNumber }

const Num = JsonSafeNumber

const Int = Schema.Number
const Steps = Schema.NullOr(Schema.Number)
const mutableArray = <A, I>(item: Schema.Schema<A, I>) => Schema.mutable(Schema.Array(item))

/** TD at one token position and layer: first and final checkpoint, on the held-out probe split. */
const TdAt = Schema.Struct({
  /** token index (0-based) in the 2K-token sequence */
  position: Int,
  layer: Int,
  /** "selection split" (the best layer on the probe set's selection split at the final checkpoint) or "config" */
  layerChosenOn: Schema.String,
  first: Num,
  final: Num
})

/** One checkpoint of patching at the headline layer: mean NMSE unpatched, self-patched, patched with another concept. */
const PatchingAt = Schema.Struct({
  phase: Schema.String,
  step: Int,
  baseline: Num,
  self: Num,
  offDiagonal: Num,
  offDiagonalOverBaseline: Num,
  selfOverBaseline: Num,
  offDiagonalOverSelf: Num
})

const Grid = mutableArray(mutableArray(Num))
/** Each head ablated alone: per ablation the loss change averaged over concepts and per concept, and each concept's top head. */
export const HeadImportance = Schema.Struct({
  step: Int,
  modes: mutableArray(
    Schema.Struct({
      ablation: Schema.String,
      lossChange: Grid,
      perConcept: mutableArray(Schema.Struct({ label: Schema.String, lossChange: Grid })),
      topHead: mutableArray(Schema.Struct({ label: Schema.String, layer: Int, head: Int, lossChange: Num }))
    })
  )
})
export type HeadImportance = Schema.Schema.Type<typeof HeadImportance>

export const Summary = Schema.Struct({
  config: Schema.String,
  backend: Schema.String,
  concepts: mutableArray(Schema.String),
  /** [concept] normalised test MSE (mean over k >= 1) at the last checkpoint */
  finalNmsePerConcept: mutableArray(Num),
  td: Schema.Struct({
    /** the report position and layer (TD on the held-out split) */
    position: Int,
    layer: Int,
    layerChosenOn: Schema.String,
    first: Num,
    final: Num,
    /** the layer with the highest TD on all probe sequences at the final checkpoint (reference only: chosen after the fact) */
    peakLayerAllSequences: Int,
    /** TD at the query token (last x, whose output predicts the last y) */
    queryToken: TdAt,
    /**
     * overlapping bases: TD of the basis groups, and mean pairwise TD within vs across groups (final checkpoint,
     * report layer); `atFirst`, the same at the first checkpoint (the untrained model): the null, since bases
     * of one group share input coordinates and so differ less than bases of two groups before any training
     */
    groups: Schema.NullOr(
      Schema.Struct({
        groupTd: Num,
        withinPairwise: Num,
        acrossPairwise: Num,
        atFirst: Schema.optional(Schema.Struct({ step: Int, groupTd: Num, withinPairwise: Num, acrossPairwise: Num }))
      })
    )
  }),
  /** per basis: loss and TD (that basis's recall at the report layer) halfway steps, their lag and the correlation of per-interval changes with its surrogate p-value */
  coupling: Schema.Struct({
    surrogates: Int,
    perBasis: mutableArray(
      Schema.Struct({ basis: Int, lossHalfStep: Steps, tdHalfStep: Steps, lagSteps: Steps, rateCorrelation: Num, pValue: Num, lagPValue: Schema.NullOr(Num) })
    )
  }),
  /** the two-cluster stage detected from the per-basis loss (null: none) */
  twoCluster: Schema.NullOr(Schema.Struct({ step: Int, learned: mutableArray(Int), lossRatio: Num })),
  patching: Schema.NullOr(
    Schema.Struct({
      /** "query" (the query token, only its prediction scored), "y-tokens", ... */
      positions: Schema.String,
      layer: Int,
      layerChosenOn: Schema.String,
      /** at the headline layer: the two-cluster checkpoint (when detected) and the final one */
      checkpoints: mutableArray(PatchingAt),
      /** query-token patching at the final checkpoint (null when another position mode ran) */
      queryToken: Schema.NullOr(Schema.Struct({ offDiagonalOverBaseline: Num, selfOverBaseline: Num })),
      /** every patched layer at the final checkpoint (a profile; the headline is not their maximum) */
      byLayer: mutableArray(Schema.Struct({ layer: Int, offDiagonalOverBaseline: Num, selfOverBaseline: Num, offDiagonalOverSelf: Num }))
    })
  ),
  /** NMSE of the query prediction (k = K - 1, all bases) at the final checkpoint, with the references (NaN where undefined) */
  nmse: Schema.Struct({ k: Int, step: Int, model: Num, leastSquares: Num, bayesOracle: Num, bayesOptimal: Num }),
  /** head importance at the final checkpoint (heads.synthetic: per ablation, the [layer][head] change of the query NMSE), absent when not run */
  heads: Schema.optional(Schema.Struct({ synthetic: HeadImportance })),
  artifactKeys: Schema.mutable(Schema.Record({ key: Schema.String, value: Schema.String }))
})
export type Summary = Schema.Schema.Type<typeof Summary>
/** The JSON shape of a Summary (non-finite numbers as strings). */
export type SummaryEncoded = Schema.Schema.Encoded<typeof Summary>

/** summary.json text (2-space indented) for a Summary; fails if the value does not fit the schema. */
export const encodeSummaryJson = (summary: Summary): Effect.Effect<string, SummaryDecodeError> =>
  Schema.encode(Summary)(summary).pipe(
    Effect.map((encoded) => JSON.stringify(encoded, null, 2) + "\n"),
    Effect.mapError(
      (e) => new SummaryDecodeError({ file: "summary.json", reason: ParseResult.TreeFormatter.formatErrorSync(e) })
    )
  )

/** Parse summary.json text back into a Summary. `file` is only used in the error. */
export const decodeSummaryJson = (text: string, file = "summary.json"): Effect.Effect<Summary, SummaryDecodeError> =>
  Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (e) => new SummaryDecodeError({ file, reason: `not JSON: ${String(e)}` })
  }).pipe(
    Effect.flatMap((json) =>
      Schema.decodeUnknown(Summary)(json).pipe(
        Effect.mapError(
          (e) => {
            // the first problem with its dotted path, not the whole schema
            const first = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
            const field = first && first.path.length > 0 ? first.path.map(String).join(".") : "(root)"
            return new SummaryDecodeError({ file, reason: `${field}: ${(first?.message ?? "invalid").replace(/\s+/g, " ").trim()}` })
          }
        )
      )
    )
  )
