import { JsonSafeNumber } from "@conceptscope/core"
import { Schema } from "effect"

/**
 * The LLM half's `summary.json` for one family (`llm.<family>`), and the findings the issue asks to be
 * stated as held or not, with their numbers. Pure functions of the stage tables, so a report can be
 * rebuilt from stored artifacts.
 */
const Fit = Schema.Struct({ slope: JsonSafeNumber, intercept: JsonSafeNumber, r2: JsonSafeNumber, points: Schema.Int })
export const LmTdMeta = Schema.Struct({ peakLayer: Schema.Int, tdAccuracy: Fit })

/** `summary.json`: the peak layer, the TD-accuracy fit and the pairwise TD matrices at the peak (per "condition:shots"). */
export const LmTdSummary = Schema.Struct({
  labels: Schema.Array(Schema.String),
  peakLayer: Schema.Int,
  peakChosenOn: Schema.String,
  tdAccuracy: Fit,
  pairwise: Schema.Record({ key: Schema.String, value: Schema.Array(Schema.Array(JsonSafeNumber)) })
})

const NumByShots = Schema.Record({ key: Schema.String, value: JsonSafeNumber })

export const Finding = Schema.Struct({ id: Schema.String, claim: Schema.String, held: Schema.NullOr(Schema.Boolean), numbers: Schema.String })
export type Finding = typeof Finding.Type

const VectorEffect = Schema.Struct({ mode: Schema.String, sign: Schema.String, label: Schema.String, td: JsonSafeNumber, meanChange: JsonSafeNumber, sdChange: JsonSafeNumber })

export const FamilySummary = Schema.Struct({
  peakLayer: Schema.Int,
  peakChosenOn: Schema.String,
  nLayers: Schema.Int,
  /** Mean held-out TD over the concepts at the peak layer, by shot count. */
  td: NumByShots,
  /** Mean accuracy over the concepts (teacher-forced greedy exact match), by shot count. */
  accuracy: NumByShots,
  perConcept: Schema.Array(Schema.Struct({ label: Schema.String, shots: Schema.Int, td: JsonSafeNumber, accuracy: JsonSafeNumber })),
  tdAccuracyR2: JsonSafeNumber,
  tdAccuracyFit: Schema.Struct({ slope: JsonSafeNumber, intercept: JsonSafeNumber, points: Schema.Int }),
  /** Mean TD over the concepts at every layer (layer -1: the embedding), by shot count: the peak must be inner. */
  tdByLayer: Schema.Record({ key: Schema.String, value: Schema.Array(JsonSafeNumber) }),
  taskVectors: Schema.Struct({
    layer: Schema.Int,
    shots: Schema.Int,
    replicates: Schema.Int,
    perConcept: Schema.Array(VectorEffect),
    /** Mean accuracy change of the higher-TD and lower-TD halves of the concepts, per mode and sign. */
    halves: Schema.Array(Schema.Struct({ mode: Schema.String, sign: Schema.String, highTd: JsonSafeNumber, lowTd: JsonSafeNumber }))
  }),
  prompting: Schema.NullOr(Schema.Struct({ shots: Schema.Int, td: JsonSafeNumber, accuracy: JsonSafeNumber, iclTd: JsonSafeNumber, iclAccuracy: JsonSafeNumber })),
  findings: Schema.Array(Finding)
})
export type FamilySummary = typeof FamilySummary.Type

export const CellSummary = Schema.Struct({
  family: Schema.String,
  seed: Schema.Int,
  model: Schema.Struct({ dir: Schema.String, fingerprint: Schema.String, modelType: Schema.String }),
  llm: Schema.Record({ key: Schema.String, value: FamilySummary })
})
export type CellSummary = typeof CellSummary.Type

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "n/a")

/** The study's claims, checked on one family's numbers. */
export function familyFindings(family: string, s: Omit<FamilySummary, "findings">, minR2 = 0.5): Finding[] {
  const shots = Object.keys(s.td).map(Number).sort((a, b) => a - b)
  const accs = shots.map((k) => s.accuracy[k])
  const tds = shots.map((k) => s.td[k])
  const labels = [...new Set(s.perConcept.map((p) => p.label))]
  const spread = shots.map((k) => {
    const a = s.perConcept.filter((p) => p.shots === k).map((p) => p.accuracy)
    return Math.max(...a) - Math.min(...a)
  })
  const rising = (xs: number[]) => xs.length > 1 && xs.every((x, i) => i === 0 || x > xs[i - 1])
  const half = (mode: string, sign: string) => s.taskVectors.halves.find((h) => h.mode === mode && h.sign === sign)
  const vectorHeld = ["add", "replace"].flatMap((mode) => {
    const pos = half(mode, "positive")
    const neg = half(mode, "negative")
    return pos && neg ? [pos.highTd > pos.lowTd && neg.highTd < neg.lowTd] : []
  })
  const last = shots[shots.length - 1]
  return [
    {
      id: `${family}.accuracy-differs`,
      claim: "accuracy differs across concepts",
      held: spread.some((x) => x >= 0.1),
      numbers: `max - min accuracy over ${labels.length - 0} concepts: ${shots.map((k, i) => `${k} shots ${f3(spread[i])}`).join(", ")}`
    },
    { id: `${family}.accuracy-rises`, claim: "accuracy rises with shots", held: rising(accs), numbers: shots.map((k, i) => `${k}: ${f3(accs[i])}`).join(", ") },
    {
      id: `${family}.peak-inner`,
      claim: "TD peaks at an inner layer, not the first or the last",
      held: s.peakLayer > 0 && s.peakLayer < s.nLayers - 1,
      numbers: `peak layer ${s.peakLayer} of 0..${s.nLayers - 1} (${s.peakChosenOn})`
    },
    { id: `${family}.td-rises`, claim: "mean TD rises with shots", held: rising(tds), numbers: shots.map((k, i) => `${k}: ${f3(tds[i])}`).join(", ") },
    {
      id: `${family}.td-predicts-accuracy`,
      claim: `TD-accuracy R^2 >= ${minR2} over concepts x shots`,
      held: Number.isFinite(s.tdAccuracyR2) ? s.tdAccuracyR2 >= minR2 : null,
      numbers: `R^2 ${f3(s.tdAccuracyR2)} over ${s.tdAccuracyFit.points} points (slope ${f3(s.tdAccuracyFit.slope)})`
    },
    {
      id: `${family}.task-vectors`,
      claim: "positive task vectors raise and negative ones lower accuracy more for the higher-TD half of the concepts",
      held: vectorHeld.length === 0 ? null : vectorHeld.every(Boolean),
      numbers: `layer ${s.taskVectors.layer}: ` + s.taskVectors.halves.map((h) => `${h.mode} ${h.sign}: high-TD ${f3(h.highTd)}, low-TD ${f3(h.lowTd)}`).join("; ")
    },
    {
      id: `${family}.prompting`,
      claim: "naming the concept raises TD",
      held: s.prompting ? s.prompting.td > s.prompting.iclTd : null,
      numbers: s.prompting
        ? `${s.prompting.shots} shots: TD ${f3(s.prompting.iclTd)} -> ${f3(s.prompting.td)}, accuracy ${f3(s.prompting.iclAccuracy)} -> ${f3(s.prompting.accuracy)}`
        : `not run (promptingShots null); last shot count ${last}`
    }
  ]
}
