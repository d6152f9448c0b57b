/**
 * The headline numbers of one run, written as summary.json and read back by sweeps and CI.
 *
 * Choice: JSON has no NaN or Infinity (JSON.stringify writes null, which would not round-trip), so
 * non-finite numbers are encoded as the strings "NaN", "Infinity", "-Infinity" and decoded back.
 * Finite numbers are written verbatim.
 */
import { Effect, ParseResult, Schema } from "effect"
import { SummaryDecodeError } from "./errors.js"

export interface Summary {
  config: string
  backend: string
  /** [concept] normalised test MSE at the last checkpoint */
  finalNmsePerConcept: number[]
  reportedLayer: number
  /** TD at the reported layer, first and last checkpoint */
  tdFirst: number
  tdFinal: number
  /** layer with the highest TD at the last checkpoint (-1 = embedding) */
  tdPeakLayerFinal: number
  coupling: {
    /** [concept] Spearman correlation over checkpoints between -loss of that concept and TD */
    spearmanPerConcept: number[]
    /** [concept] first step at which that concept's loss fell halfway from start to end (null: never) */
    lossHalfwayStep: (number | null)[]
    /** first step at which TD rose halfway from start to end (null: never) */
    tdHalfwayStep: number | null
    meanSpearman: number
  }
  /** Patching at the final checkpoint at `layer`; `byLayer` has every patched layer (the headline layer is the one with the largest ratio). */
  patching: {
    step: number
    layer: number
    diagonalMean: number
    offDiagonalMean: number
    ratio: number
    byLayer: { layer: number; diagonalMean: number; offDiagonalMean: number; ratio: number }[]
  } | null
  artifactKeys: Record<string, string>
}

const NonFiniteLiteral = Schema.Literal("NaN", "Infinity", "-Infinity")

/** A number that survives JSON: finite numbers as themselves, NaN / +-Infinity as strings. */
export const JsonSafeNumber = Schema.transform(Schema.Union(Schema.Number, NonFiniteLiteral), Schema.Number, {
  strict: true,
  decode: (v) => (typeof v === "number" ? v : Number(v)),
  encode: (n) => (Number.isFinite(n) ? n : (String(n) as typeof NonFiniteLiteral.Type))
})

const Num = JsonSafeNumber

export const Summary: Schema.Schema<Summary, SummaryEncoded> = Schema.Struct({
  config: Schema.String,
  backend: Schema.String,
  finalNmsePerConcept: Schema.mutable(Schema.Array(Num)),
  reportedLayer: Schema.Number,
  tdFirst: Num,
  tdFinal: Num,
  tdPeakLayerFinal: Schema.Number,
  coupling: Schema.Struct({
    spearmanPerConcept: Schema.mutable(Schema.Array(Num)),
    lossHalfwayStep: Schema.mutable(Schema.Array(Schema.NullOr(Schema.Number))),
    tdHalfwayStep: Schema.NullOr(Schema.Number),
    meanSpearman: Num
  }),
  patching: Schema.NullOr(
    Schema.Struct({
      step: Schema.Number,
      layer: Schema.Number,
      diagonalMean: Num,
      offDiagonalMean: Num,
      ratio: Num,
      byLayer: Schema.mutable(Schema.Array(Schema.mutable(Schema.Struct({ layer: Schema.Number, diagonalMean: Num, offDiagonalMean: Num, ratio: Num }))))
    })
  ),
  artifactKeys: Schema.mutable(Schema.Record({ key: Schema.String, value: Schema.String }))
})

type JsonNum = number | "NaN" | "Infinity" | "-Infinity"

/** The JSON shape of a Summary (non-finite numbers as strings). */
export interface SummaryEncoded {
  readonly config: string
  readonly backend: string
  readonly finalNmsePerConcept: JsonNum[]
  readonly reportedLayer: number
  readonly tdFirst: JsonNum
  readonly tdFinal: JsonNum
  readonly tdPeakLayerFinal: number
  readonly coupling: {
    readonly spearmanPerConcept: JsonNum[]
    readonly lossHalfwayStep: (number | null)[]
    readonly tdHalfwayStep: number | null
    readonly meanSpearman: JsonNum
  }
  readonly patching: {
    readonly step: number
    readonly layer: number
    readonly diagonalMean: JsonNum
    readonly offDiagonalMean: JsonNum
    readonly ratio: JsonNum
    byLayer: { layer: number; diagonalMean: JsonNum; offDiagonalMean: JsonNum; ratio: JsonNum }[]
  } | null
  readonly artifactKeys: { [k: string]: string }
}

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
          (e) => new SummaryDecodeError({ file, reason: ParseResult.TreeFormatter.formatErrorSync(e) })
        )
      )
    )
  )
