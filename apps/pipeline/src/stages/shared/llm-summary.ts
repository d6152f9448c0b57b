import { JsonSafeNumber } from "@conceptscope/core"
import { Schema } from "effect"
import { HeadsSummary, TrajectorySummary } from "./llm-tables.js"

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

const Table1Row = Schema.Struct({
  layers: Schema.NullOr(Schema.Array(Schema.Int)),
  tdMean: JsonSafeNumber,
  tdSpread: JsonSafeNumber,
  accuracyMean: JsonSafeNumber,
  accuracySpread: JsonSafeNumber,
  ownPeak: Schema.Int,
  tdOwnPeakMean: JsonSafeNumber
})

export const FamilySummary = Schema.Struct({
  peakLayer: Schema.Int,
  peakChosenOn: Schema.String,
  nLayers: Schema.Int,
  /** Mean held-out TD over the concepts at the peak layer, by shot count. */
  td: NumByShots,
  /** How many prompts (all labels) each shot count's held-out TD is measured on. */
  tdHeldOutPoints: Schema.Int,
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
  /** The prompting condition beside plain ICL at `shots` shots: held-out TD (over `heldOutPoints` prompts each) and accuracy. */
  prompting: Schema.NullOr(Schema.Struct({ shots: Schema.Int, td: JsonSafeNumber, accuracy: JsonSafeNumber, iclTd: JsonSafeNumber, iclAccuracy: JsonSafeNumber, heldOutPoints: Schema.Int })),
  /** The study's Table 1 (lm-table1), or null when the config has no `finetune`. */
  table1: Schema.NullOr(
    Schema.Struct({
      shots: Schema.Int,
      /** the pretrained model's peak layer, where tdMean is read */
      layer: Schema.Int,
      /** pretrained, firstK, lastK, prompting: TD at `layer` and accuracy, mean and spread (sd) over concepts; TD at the row's own peak */
      rows: Schema.Record({ key: Schema.String, value: Table1Row }),
      unchangedBelow: Schema.Array(Schema.Struct({ variant: Schema.String, firstTrainedLayer: Schema.Int, maxAbsDiff: Schema.Number, tdMaxDiff: Schema.Number }))
    })
  ),
  /** Head importance (lm-heads), or null when not run. */
  heads: Schema.NullOr(HeadsSummary),
  /** TD and accuracy over training checkpoints (lm-trajectory), or null when not run. */
  trajectory: Schema.NullOr(TrajectorySummary),
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

/**
 * The rise of held-out TD that the prompting claim needs: two standard errors of the difference of two
 * proportions over n held-out prompts each, sqrt(p1 (1 - p1) / n + p2 (1 - p2) / n), so a change within
 * sampling noise (or a rounding difference at chance) is not read as a rise.
 */
export function promptingMargin(p: { readonly td: number; readonly iclTd: number; readonly heldOutPoints: number }): number {
  const v = (x: number) => (Number.isFinite(x) ? x * (1 - x) : 0.25)
  return 2 * Math.sqrt((v(p.td) + v(p.iclTd)) / Math.max(1, p.heldOutPoints))
}

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
  // the peak only means something where TD there is above chance (1 / labels, Null included)
  const chance = 1 / (labels.length + 1)
  const chanceMargin = 2 * Math.sqrt((chance * (1 - chance)) / Math.max(1, s.tdHeldOutPoints))
  const peakTd = Math.max(...tds)
  const aboveChance = peakTd > chance + chanceMargin
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
      held: s.peakLayer > 0 && s.peakLayer < s.nLayers - 1 && aboveChance,
      numbers: `peak layer ${s.peakLayer} of 0..${s.nLayers - 1} (${s.peakChosenOn}); held-out TD there up to ${f3(peakTd)}, chance ${f3(chance)}${aboveChance ? "" : ` (a peak of TD within 2 binomial SEs of chance, ${f3(chance + chanceMargin)}, is no peak)`}`
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
      held: s.prompting ? s.prompting.td - s.prompting.iclTd > promptingMargin(s.prompting) : null,
      numbers: s.prompting
        ? `${s.prompting.shots} shots: TD ${f3(s.prompting.iclTd)} -> ${f3(s.prompting.td)} (needs a rise above ${f3(promptingMargin(s.prompting))}, 2 binomial SEs over ${s.prompting.heldOutPoints} held-out prompts each), accuracy ${f3(s.prompting.iclAccuracy)} -> ${f3(s.prompting.accuracy)}`
        : `not run (promptingShots null); last shot count ${last}`
    },
    ...table1Findings(family, s.table1),
    ...trajectoryFindings(family, s.trajectory),
    ...headFindings(family, s.heads)
  ]
}

/**
 * Concept-specific heads (the study's head pruning): with the first ablation mode, a concept's most
 * important head raises that concept's loss at least twice as much as it raises the other concepts' on
 * average, for at least half of the concepts.
 */
function headFindings(family: string, hs: HeadsSummary | null): Finding[] {
  const m = hs?.modes[0]
  if (!hs || !m) return []
  const specific = m.topHead.map((t) => {
    const others = m.perConcept.filter((p) => p.label !== t.label).map((p) => p.lossChange[t.layer][t.head])
    const rest = others.reduce((a, x) => a + x, 0) / Math.max(1, others.length)
    return { ...t, rest, specific: t.lossChange > 0 && t.lossChange >= 2 * Math.max(0, rest) }
  })
  return [
    {
      id: `${family}.heads-concept-specific`,
      claim: "ablating single heads finds concept-specific heads (a concept's top head hurts it at least twice as much as the other concepts, for half of the concepts or more)",
      held: specific.filter((x) => x.specific).length * 2 >= specific.length,
      numbers:
        `${m.ablation} ablation, ${hs.shots} shots: ` +
        specific.map((x) => `${x.label} L${x.layer}H${x.head} ${f3(x.lossChange)} (others ${f3(x.rest)})`).join(", ")
    }
  ]
}

/** Over training checkpoints, TD and accuracy rise together: both rise (by more than 0.05) and their increments are coupled (p <= 0.05). */
function trajectoryFindings(family: string, t: TrajectorySummary | null): Finding[] {
  if (t === null || t.steps.length < 3 || t.coupling === null) return []
  const n = t.steps.length
  const c = t.coupling
  const rise = (xs: readonly number[]) => xs[n - 1] - xs[0]
  const step = (x: number | null) => (x === null ? "never" : Math.round(x).toString())
  return [
    {
      id: `${family}.trajectory-rise-together`,
      claim: "over training checkpoints TD and accuracy rise together",
      held: rise(t.tdMean) > 0.05 && rise(t.accuracyMean) > 0.05 && c.pValue <= 0.05,
      numbers:
        `${n} checkpoints (steps ${t.steps[0]}..${t.steps[n - 1]}), ${t.shots} shots, layer ${t.layer}: TD ${f3(t.tdMean[0])} -> ${f3(t.tdMean[n - 1])}, accuracy ${f3(t.accuracyMean[0])} -> ${f3(t.accuracyMean[n - 1])}; ` +
        `halfway: accuracy step ${step(c.lossHalfStep)}, TD step ${step(c.tdHalfStep)}; increment correlation ${f3(c.rateCorrelation)}, p ${f3(c.pValue)}`
    }
  ]
}

/** Table 1's claims: first-k LoRA helps more than last-k; last-k cannot change TD before its range. */
function table1Findings(family: string, t: Omit<FamilySummary, "findings">["table1"]): Finding[] {
  if (t === null) return []
  const { pretrained: pre, firstK: first, lastK: last } = t.rows
  if (!pre || !first || !last) return []
  const gain = (r: typeof pre, k: "tdMean" | "accuracyMean") => r[k] - pre[k]
  const below = t.unchangedBelow.find((u) => u.variant === "lastK")
  return [
    {
      id: `${family}.lora-first-beats-last`,
      claim: "LoRA on the first k layers raises mean TD and mean accuracy more than on the last k",
      held: gain(first, "tdMean") > gain(last, "tdMean") && gain(first, "accuracyMean") > gain(last, "accuracyMean"),
      numbers:
        `${t.shots} shots, TD at layer ${t.layer}: pretrained ${f3(pre.tdMean)}, first ${first.layers?.join("-")} ${f3(first.tdMean)}, last ${last.layers?.join("-")} ${f3(last.tdMean)}; ` +
        `accuracy ${f3(pre.accuracyMean)}, ${f3(first.accuracyMean)}, ${f3(last.accuracyMean)}`
    },
    {
      id: `${family}.lora-last-keeps-early-td`,
      claim: "LoRA on the last k layers leaves the residual stream, and so TD, before its first layer unchanged (measured)",
      held: below === undefined || below.firstTrainedLayer === 0 ? null : below.maxAbsDiff === 0 && below.tdMaxDiff === 0,
      numbers: below
        ? `layers 0..${below.firstTrainedLayer - 1}: max |residual change| ${below.maxAbsDiff.toExponential(2)}, max |TD change| ${below.tdMaxDiff.toExponential(2)}` +
          (t.layer >= below.firstTrainedLayer ? `; the pretrained peak ${t.layer} is inside the trained range, so TD there can change` : "")
        : "no last-k variant"
    }
  ]
}
