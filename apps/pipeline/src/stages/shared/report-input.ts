import { diagonalStats } from "@conceptscope/interventions"
import { halfwayCrossing, spearman } from "@conceptscope/probes"
import type { EmergenceCriteria, Embedding, PatchingResult, ReportInput } from "@conceptscope/reporters"
import type { CurvePoint, ErrorCurveRow, TDRow } from "./tables.js"

/** Per-basis normalised test MSE averaged over example positions k >= 1 (k = 0 has no context). */
export function lossByStep(curves: readonly Pick<CurvePoint, "step" | "basis" | "k" | "nmse">[]) {
  const acc = new Map<string, { step: number; concept: number; sum: number; n: number }>()
  for (const c of curves) {
    if (c.basis < 0 || c.k < 1) continue
    const key = `${c.step}:${c.basis}`
    const a = acc.get(key) ?? { step: c.step, concept: c.basis, sum: 0, n: 0 }
    a.sum += c.nmse
    a.n++
    acc.set(key, a)
  }
  return [...acc.values()].map((a) => ({ step: a.step, concept: a.concept, nmse: a.sum / a.n })).sort((a, b) => a.step - b.step || a.concept - b.concept)
}

/**
 * The coupling statistic between concept encoding and loss: over checkpoints, the Spearman rank
 * correlation between the TD of the reported layer and each basis's loss drop (-nmse), and the steps
 * where each curve crosses halfway between its first and last value.
 */
export function coupling(loss: ReturnType<typeof lossByStep>, tdSeries: readonly { step: number; td: number }[], nConcepts: number) {
  const steps = tdSeries.map((t) => t.step)
  const tdValues = tdSeries.map((t) => t.td)
  const spearmanPerConcept: number[] = []
  const lossHalfwayStep: (number | null)[] = []
  for (let c = 0; c < nConcepts; c++) {
    const series = steps.map((s) => loss.find((l) => l.step === s && l.concept === c)?.nmse ?? NaN)
    spearmanPerConcept.push(steps.length > 2 ? spearman(tdValues, series.map((v) => -v)) : NaN)
    lossHalfwayStep.push(steps.length > 1 ? halfwayCrossing(steps, series) : null)
  }
  const finite = spearmanPerConcept.filter(Number.isFinite)
  return {
    spearmanPerConcept,
    lossHalfwayStep,
    tdHalfwayStep: steps.length > 1 ? halfwayCrossing(steps, tdValues) : null,
    meanSpearman: finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : NaN
  }
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "n/a")

/** Patching at the final checkpoint, per layer, and the layer where another basis's mean hurts most relative to the same basis's. */
export function patchingHeadline(patching: readonly PatchingResult[]) {
  const lastStep = patching.length ? Math.max(...patching.map((p) => p.step)) : NaN
  const byLayer = patching
    .filter((p) => p.step === lastStep)
    .map((p) => {
      const { diagonalMean, offDiagonalMean } = diagonalStats(p.matrix)
      return { layer: p.layer, diagonalMean, offDiagonalMean, ratio: offDiagonalMean / diagonalMean }
    })
  const head = byLayer.reduce<(typeof byLayer)[number] | null>((a, b) => (a === null || b.ratio > a.ratio ? b : a), null)
  return { step: lastStep, byLayer, head }
}

/**
 * Plain statements of what this run shows, computed from its numbers (not hand-written), so the report
 * never claims more than the data: which bases were learned, how TD moved against chance, what patching says.
 */
export function findings(
  criteria: EmergenceCriteria,
  finalLoss: readonly number[],
  td: readonly { step: number; td: number; perConcept: number[] }[],
  layer: number,
  nConcepts: number,
  patching: { readonly ratio: number; readonly layer: number; readonly byLayer: readonly { layer: number; ratio: number }[] } | null,
  errors: readonly ErrorCurveRow[]
): string[] {
  const name = (c: number) => `B${c + 1}`
  const learnedAt = criteria.maxFinalNmse
  const learned = finalLoss.flatMap((v, c) => (v <= learnedAt ? [name(c)] : []))
  const out: string[] = []
  out.push(
    learned.length === nConcepts
      ? `Every basis was learned: final normalised MSE <= ${learnedAt} for all ${nConcepts} (max ${f2(Math.max(...finalLoss))}).`
      : learned.length === 0
        ? `No basis reached normalised MSE <= ${learnedAt} (final: ${finalLoss.map(f2).join(", ")}); the run shows at most the start of learning.`
        : `Learned (final normalised MSE <= ${learnedAt}): ${learned.join(", ")}; not learned: ${finalLoss.flatMap((v, c) => (v > learnedAt ? [`${name(c)} ${f2(v)}`] : [])).join(", ")}.`
  )
  if (td.length > 1) {
    const first = td[0]
    const last = td[td.length - 1]
    const separated = last.perConcept.flatMap((v, c) => (v >= criteria.minTdFinal ? [name(c)] : []))
    out.push(
      `TD at layer ${layer} went from ${f2(first.td)} to ${f2(last.td)} (chance ${f2(1 / nConcepts)}); ` +
        (separated.length ? `per-basis TD >= ${criteria.minTdFinal} at the end for ${separated.join(", ")}.` : `no basis reached per-basis TD ${criteria.minTdFinal}.`)
    )
  }
  if (patching && Number.isFinite(patching.ratio))
    out.push(
      patching.ratio >= criteria.minPatchingRatio
        ? `Patching at the final checkpoint: off-diagonal loss is ${f2(patching.ratio)}x the diagonal, so later layers read the basis from the layer-${patching.layer} representation at the y tokens.`
        : `Patching at the final checkpoint: off-diagonal loss is only ${f2(patching.ratio)}x the diagonal at layer ${patching.layer} (the study's mechanism would give >= ${criteria.minPatchingRatio}x).`
    )
  if (patching && patching.byLayer.length > 1)
    out.push(`Patching off/diagonal ratio by layer: ${patching.byLayer.map((p) => `layer ${p.layer} ${f2(p.ratio)}`).join(", ")} (the layer with the largest ratio is shown).`)
  const at = (method: string) => errors.filter((e) => e.basis === -1 && e.method.startsWith(method))
  const model = at("model")
  const ls = at("least squares")
  if (model.length && ls.length) {
    const last = model[model.length - 1]
    const lsLast = ls.find((e) => e.k === last.k)
    if (lsLast) out.push(`At k = ${last.k} examples the model's normalised MSE is ${f2(last.nmse)} vs ${f2(lsLast.nmse)} for least squares on all dims.`)
  }
  return out
}

export interface ReportData {
  readonly title: string
  readonly configName: string
  readonly description: string
  readonly config: unknown
  readonly notes: readonly string[]
  readonly criteria: EmergenceCriteria
  readonly nConcepts: number
  readonly layer: number
  readonly position: number
  readonly peakLayer: number
  readonly backend: string
  readonly curves: readonly CurvePoint[]
  readonly td: readonly TDRow[]
  readonly embeddings: Embedding[]
  readonly patching: readonly PatchingResult[]
  readonly errors: readonly ErrorCurveRow[]
  readonly artifactKeys: Record<string, string>
}

/** Everything the report draws, from data read out of stored artifacts only. */
export function reportInput(d: ReportData): ReportInput {
  const C = d.nConcepts
  const loss = lossByStep(d.curves)
  const atPos = d.td.filter((t) => t.position === d.position)
  const tdSeries = atPos.filter((t) => t.layer === d.layer).sort((a, b) => a.step - b.step)
  const steps = [...new Set(atPos.map((t) => t.step))].sort((a, b) => a - b)
  const finalStep = steps[steps.length - 1]
  const patch = patchingHeadline(d.patching)
  const finalLoss = Array.from({ length: C }, (_, c) => loss.find((l) => l.step === finalStep && l.concept === c)?.nmse ?? NaN)
  const headline = patch.head ? { step: patch.step, layer: patch.head.layer, diagonalMean: patch.head.diagonalMean, offDiagonalMean: patch.head.offDiagonalMean, ratio: patch.head.ratio, byLayer: patch.byLayer } : null
  return {
    title: `ConceptScope: concept encoding in sparse linear regression (${d.title})`,
    configName: d.configName,
    configDescription: d.description,
    params: d.config,
    concepts: Array.from({ length: C }, (_, c) => `B${c + 1}`),
    reportedLayer: d.layer,
    lossCurves: loss,
    tdCurves: atPos.map((t) => ({ step: t.step, layer: t.layer, td: t.td, perConcept: t.perConcept })),
    embeddings: d.embeddings,
    patching: d.patching.filter((p) => p.layer === patch.head?.layer).map((p) => ({ ...p })),
    errorVsK: d.errors.filter((e) => e.basis === -1).map((e) => ({ k: e.k, method: e.method, nmse: e.nmse })),
    pairwiseTD: atPos.filter((t) => t.step === finalStep && t.layer === d.layer).map((t) => ({ step: t.step, layer: t.layer, matrix: t.pairwise })),
    linearProbe: atPos.filter((t) => Number.isFinite(t.linearProbeAcc) && t.layer === d.layer).map((t) => ({ step: t.step, layer: t.layer, testAcc: t.linearProbeAcc })),
    summary: {
      config: d.configName,
      backend: d.backend,
      finalNmsePerConcept: finalLoss,
      reportedLayer: d.layer,
      tdFirst: tdSeries[0]?.td ?? NaN,
      tdFinal: tdSeries[tdSeries.length - 1]?.td ?? NaN,
      tdPeakLayerFinal: d.peakLayer,
      coupling: coupling(loss, tdSeries, C),
      patching: headline,
      artifactKeys: d.artifactKeys
    },
    notes: [...d.notes, ...findings(d.criteria, finalLoss, tdSeries, d.layer, C, headline, d.errors)]
  }
}
