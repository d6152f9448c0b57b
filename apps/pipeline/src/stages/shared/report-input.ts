import type { HeadsSummary } from "./llm-tables.js"
import { diagonalStats } from "@conceptscope/interventions"
import { conceptCoupling } from "@conceptscope/probes"
import type { EmergenceCriteria, Embedding, PatchingResult, ReportInput, Summary } from "@conceptscope/reporters"
import { lossByStep, type TwoCluster } from "./phases.js"
import { type CurvePoint, type ErrorCurveRow, METHOD, type TDRow } from "./tables.js"

export { lossByStep }

/**
 * Per basis, the coupling of its loss curve and its own TD curve (that basis's recall at the report
 * layer and position) over checkpoints: halfway steps, lag, increment correlation with a phase-randomised
 * p-value (see `conceptCoupling`). Fewer than 3 checkpoints give no coupling (NaN / null).
 */
export function basisCoupling(
  loss: ReturnType<typeof lossByStep>,
  tdSeries: readonly Pick<TDRow, "step" | "perConcept">[],
  nConcepts: number,
  opts: { readonly surrogates: number; readonly seed: number }
): Summary["coupling"] {
  const steps = tdSeries.map((t) => t.step)
  const perBasis = Array.from({ length: nConcepts }, (_, c) => {
    const l = steps.map((s) => loss.find((x) => x.step === s && x.concept === c)?.nmse ?? NaN)
    const td = tdSeries.map((t) => t.perConcept[c])
    if (steps.length < 3 || [...l, ...td].some((v) => !Number.isFinite(v)))
      return { basis: c, lossHalfStep: null, tdHalfStep: null, lagSteps: null, rateCorrelation: NaN, pValue: NaN, lagPValue: null }
    return { basis: c, ...conceptCoupling(steps, l, td, { surrogates: opts.surrogates, seed: opts.seed * 101 + c }) }
  })
  return { surrogates: opts.surrogates, perBasis }
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN)

/** Baseline (unpatched), self-patch and off-diagonal means of one patching matrix, and their ratios. */
export function patchingNumbers(p: Pick<PatchingResult, "matrix" | "unpatched">) {
  const { diagonalMean: self, offDiagonalMean: offDiagonal } = diagonalStats(p.matrix)
  const baseline = mean(p.unpatched)
  return { baseline, self, offDiagonal, offDiagonalOverBaseline: offDiagonal / baseline, selfOverBaseline: self / baseline, offDiagonalOverSelf: offDiagonal / self }
}

/** Mean pairwise TD over concept pairs in the same group and in different groups. */
export function groupPairwise(pairwise: readonly (readonly number[])[], groups: readonly number[]) {
  const within: number[] = []
  const across: number[] = []
  for (let i = 0; i < groups.length; i++)
    for (let j = i + 1; j < groups.length; j++) (groups[i] === groups[j] ? within : across).push(pairwise[i][j])
  return { withinPairwise: mean(within), acrossPairwise: mean(across) }
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "n/a")
/** Two significant digits: NMSEs span 0.004 (Bayes-optimal) to 1 (the zero predictor). */
const g2 = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(2))) : "n/a")

/**
 * Plain statements of what this run shows, computed from its numbers (not hand-written), so the report
 * never claims more than the data: which bases were learned, how held-out TD moved against chance, what
 * the coupling and patching say, how the model compares with the references.
 */
export function findings(criteria: EmergenceCriteria, s: Summary, concepts: readonly string[]): string[] {
  const name = (c: number) => concepts[c] ?? `#${c}`
  const C = s.finalNmsePerConcept.length
  const finalLoss = s.finalNmsePerConcept
  const learnedAt = criteria.maxFinalNmse
  const learned = finalLoss.flatMap((v, c) => (v <= learnedAt ? [name(c)] : []))
  const out: string[] = []
  out.push(
    learned.length === C
      ? `Every concept was learned: final normalised MSE <= ${learnedAt} for all ${C} (max ${f2(Math.max(...finalLoss))}).`
      : learned.length === 0
        ? `No concept reached normalised MSE <= ${learnedAt} (final: ${finalLoss.map(f2).join(", ")}); the run shows at most the start of learning.`
        : `Learned (final normalised MSE <= ${learnedAt}): ${learned.join(", ")}; not learned: ${finalLoss.flatMap((v, c) => (v > learnedAt ? [`${name(c)} ${f2(v)}`] : [])).join(", ")}.`
  )
  const q = s.td.queryToken
  out.push(
    `Held-out TD at the query token (layer ${q.layer}, chosen on the ${q.layerChosenOn}) went from ${f2(q.first)} to ${f2(q.final)} (chance ${f2(1 / C)}); ` +
      (q.final >= criteria.minTdFinal ? `at or above ${criteria.minTdFinal}.` : `below ${criteria.minTdFinal}.`)
  )
  const coupled = s.coupling.perBasis.filter((b) => b.pValue <= criteria.maxCouplingPValue)
  if (s.coupling.perBasis.some((b) => Number.isFinite(b.pValue)))
    out.push(
      `Loss-TD coupling (correlation of per-interval changes over checkpoints against ${s.coupling.surrogates} phase-randomised surrogates): significant at p <= ${criteria.maxCouplingPValue} for ` +
        (coupled.length ? coupled.map((b) => `${name(b.basis)} (p ${f2(b.pValue)}, lag ${b.lagSteps === null ? "n/a" : Math.round(b.lagSteps)} steps)`).join(", ") : "no concept") +
        `.`
    )
  const fin = s.patching?.checkpoints.find((c) => c.phase === "final")
  if (s.patching && fin)
    out.push(
      `Patching at ${s.patching.positions}, layer ${s.patching.layer} (${s.patching.layerChosenOn}), final checkpoint: another concept's mean gives ${f2(fin.offDiagonalOverBaseline)}x the unpatched loss, ` +
        `the concept's own mean ${f2(fin.selfOverBaseline)}x; ` +
        (fin.offDiagonalOverSelf >= criteria.minPatchingRatio && fin.selfOverBaseline <= 1.5
          ? `later layers read the concept from this representation.`
          : `this does not meet the study's signature (off-diagonal >= ${criteria.minPatchingRatio}x self, self near baseline).`)
    )
  const two = s.patching?.checkpoints.find((c) => c.phase === "two-cluster")
  if (s.twoCluster)
    out.push(
      `Two-cluster stage at step ${s.twoCluster.step} (learned: ${s.twoCluster.learned.map(name).join(", ")}; unlearned loss ${f2(s.twoCluster.lossRatio)}x the learned)` +
        (two ? `; patching there: off-diagonal ${f2(two.offDiagonalOverBaseline)}x baseline, self ${f2(two.selfOverBaseline)}x.` : ".")
    )
  else out.push("No two-cluster stage was detected in the per-basis loss (concepts learned together, or not at all).")
  const n = s.nmse
  if (Number.isFinite(n.model))
    out.push(
      `Query prediction (k = ${n.k}) at the final checkpoint: model NMSE ${g2(n.model)} vs least squares ${g2(n.leastSquares)}` +
        (Number.isFinite(n.bayesOptimal) ? `, Bayes-optimal for the task's prior ${g2(n.bayesOptimal)}, basis-knowing Bayes oracle ${g2(n.bayesOracle)}.` : ".")
    )
  if (s.td.groups)
    out.push(
      `Basis groups: group TD ${f2(s.td.groups.groupTd)}; pairwise TD within groups ${f2(s.td.groups.withinPairwise)} vs across groups ${f2(s.td.groups.acrossPairwise)} (pairwise chance 0.5)` +
        (s.td.groups.atFirst
          ? `; the untrained model (step ${s.td.groups.atFirst.step}), the null: group TD ${f2(s.td.groups.atFirst.groupTd)}, within ${f2(s.td.groups.atFirst.withinPairwise)} vs across ${f2(s.td.groups.atFirst.acrossPairwise)}.`
          : ".")
    )
  return out
}

export interface ReportData {
  readonly title: string
  readonly configName: string
  readonly description: string
  readonly config: unknown
  readonly notes: readonly string[]
  readonly criteria: EmergenceCriteria
  readonly concepts: readonly string[]
  readonly taskDescription: string
  readonly oracleDescription: string | null
  /** report position and layer, and how the layer was chosen */
  readonly position: number
  readonly layer: number
  readonly layerChosenOn: string
  /** the query token (2K - 2) and its layer */
  readonly queryPosition: number
  readonly queryLayer: number
  readonly queryLayerChosenOn: string
  readonly patchingLayer: number
  readonly patchingLayerChosenOn: string
  readonly patchingPositions: string
  readonly twoCluster: TwoCluster
  /** [concept] group of each basis, or null */
  readonly groups: readonly number[] | null
  readonly couplingSurrogates: number
  readonly seed: number
  readonly nExamples: number
  readonly backend: string
  readonly curves: readonly CurvePoint[]
  readonly td: readonly TDRow[]
  readonly embeddings: Embedding[]
  readonly patching: readonly PatchingResult[]
  readonly errors: readonly ErrorCurveRow[]
  readonly artifactKeys: Record<string, string>
  /** heads.json of the heads stage (no modes when not run) */
  readonly heads: HeadsSummary
}

/** Everything the report draws, from data read out of stored artifacts only. */
export function reportInput(d: ReportData): ReportInput {
  const C = d.concepts.length
  const loss = lossByStep(d.curves)
  const series = (position: number, layer: number) => d.td.filter((t) => t.position === position && t.layer === layer).sort((a, b) => a.step - b.step)
  const report = series(d.position, d.layer)
  const query = series(d.queryPosition, d.queryLayer)
  const atPos = d.td.filter((t) => t.position === d.position)
  const finalStep = Math.max(...d.td.map((t) => t.step))
  const finalRow = report.find((t) => t.step === finalStep)
  const finalLoss = Array.from({ length: C }, (_, c) => loss.find((l) => l.step === finalStep && l.concept === c)?.nmse ?? NaN)
  const peak = atPos.filter((t) => t.step === finalStep && t.layer >= 0).reduce<TDRow | null>((a, b) => (a === null || b.td > a.td ? b : a), null)
  const atHeadline = d.patching.filter((p) => p.layer === d.patchingLayer)
  const finalPatchStep = Math.max(...d.patching.map((p) => p.step))
  const err = (method: (m: string) => boolean) => d.errors.find((e) => e.basis === -1 && e.k === d.nExamples - 1 && method(e.method))?.nmse ?? NaN
  const finalModel = d.errors.find((e) => e.method.startsWith("model (final"))
  const summary: Summary = {
    config: d.configName,
    backend: d.backend,
    concepts: [...d.concepts],
    finalNmsePerConcept: finalLoss,
    td: {
      position: d.position,
      layer: d.layer,
      layerChosenOn: d.layerChosenOn,
      first: report[0]?.tdHeldOut ?? NaN,
      final: report[report.length - 1]?.tdHeldOut ?? NaN,
      peakLayerAllSequences: peak?.layer ?? -1,
      queryToken: { position: d.queryPosition, layer: d.queryLayer, layerChosenOn: d.queryLayerChosenOn, first: query[0]?.tdHeldOut ?? NaN, final: query[query.length - 1]?.tdHeldOut ?? NaN },
      groups:
        d.groups && finalRow
          ? {
              groupTd: finalRow.groupTd,
              ...groupPairwise(finalRow.pairwise, d.groups),
              ...(report[0] && report[0].step !== finalStep ? { atFirst: { step: report[0].step, groupTd: report[0].groupTd, ...groupPairwise(report[0].pairwise, d.groups) } } : {})
            }
          : null
    },
    coupling: basisCoupling(loss, report, C, { surrogates: d.couplingSurrogates, seed: d.seed }),
    twoCluster: d.twoCluster ? { step: d.twoCluster.step, learned: [...d.twoCluster.learned], lossRatio: d.twoCluster.lossRatio } : null,
    patching: atHeadline.length
      ? {
          positions: d.patchingPositions,
          layer: d.patchingLayer,
          layerChosenOn: d.patchingLayerChosenOn,
          checkpoints: atHeadline.map((p) => ({ phase: p.phase, step: p.step, ...patchingNumbers(p) })),
          queryToken: (() => {
            const fin = atHeadline.find((p) => p.step === finalPatchStep)
            if (d.patchingPositions !== "query" || !fin) return null
            const n = patchingNumbers(fin)
            return { offDiagonalOverBaseline: n.offDiagonalOverBaseline, selfOverBaseline: n.selfOverBaseline }
          })(),
          byLayer: d.patching.filter((p) => p.step === finalPatchStep).map((p) => {
            const n = patchingNumbers(p)
            return { layer: p.layer, offDiagonalOverBaseline: n.offDiagonalOverBaseline, selfOverBaseline: n.selfOverBaseline, offDiagonalOverSelf: n.offDiagonalOverSelf }
          })
        }
      : null,
    nmse: {
      k: d.nExamples - 1,
      step: finalModel ? Number(/step (\d+)/.exec(finalModel.method)?.[1] ?? NaN) : NaN,
      model: err((m) => m.startsWith("model (final")),
      leastSquares: err((m) => m === METHOD.leastSquares),
      bayesOracle: err((m) => m === METHOD.bayesOracle),
      bayesOptimal: err((m) => m === METHOD.bayesOptimal)
    },
    artifactKeys: d.artifactKeys,
    ...(d.heads.modes.length > 0
      ? { heads: { synthetic: { step: finalStep, modes: d.heads.modes.map((m) => ({ ablation: m.ablation, lossChange: m.lossChange.map((r) => [...r]), perConcept: m.perConcept.map((p) => ({ label: p.label, lossChange: p.lossChange.map((r) => [...r]) })), topHead: m.topHead.map((t) => ({ ...t })) })) } } }
      : {})
  }
  return {
    title: `ConceptScope: concept encoding in sparse linear regression (${d.title})`,
    configName: d.configName,
    configDescription: d.description,
    params: d.config,
    concepts: [...d.concepts],
    reportedLayer: d.layer,
    taskDescription: d.taskDescription,
    oracleDescription: d.oracleDescription,
    lossCurves: loss,
    tdCurves: atPos.map((t) => ({ step: t.step, layer: t.layer, td: t.td, perConcept: t.perConcept })),
    embeddings: d.embeddings,
    patching: atHeadline.map((p) => ({ ...p })),
    errorVsK: d.errors.filter((e) => e.basis === -1).map((e) => ({ k: e.k, method: e.method, nmse: e.nmse })),
    pairwiseTD: finalRow ? [{ step: finalRow.step, layer: finalRow.layer, matrix: finalRow.pairwise }] : [],
    linearProbe: atPos.filter((t) => Number.isFinite(t.linearProbeAcc) && t.layer === d.layer).map((t) => ({ step: t.step, layer: t.layer, testAcc: t.linearProbeAcc })),
    summary,
    notes: [...d.notes, ...findings(d.criteria, summary, d.concepts)]
  }
}
