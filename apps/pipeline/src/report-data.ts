import type { ArtifactRef } from "@conceptscope/artifacts"
import { diagonalStats } from "@conceptscope/interventions"
import { halfwayCrossing, spearman } from "@conceptscope/probes"
import type { ReportInput } from "@conceptscope/reporters"
import { Effect } from "effect"
import { bestLayer, type CellResult } from "./cell"
import type { Config } from "./config"
import { readEmbeddings } from "./stages/embed"
import { readErrorCurves } from "./stages/error-curves"
import { readPatching } from "./stages/patch"
import { readTD } from "./stages/probe"
import { readTrainingCurves } from "./stages/train"

/** Per-basis normalised test MSE averaged over example positions k >= 1 (k = 0 has no context). */
export function lossByStep(curves: readonly { step: number; basis: number; k: number; nmse: number }[]) {
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
export function coupling(loss: ReturnType<typeof lossByStep>, tdSeries: { step: number; td: number }[], nConcepts: number) {
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

export interface ReportContext {
  readonly config: Config
  readonly cell: CellResult
  readonly backend: string
  readonly timings: ReportInput["stageTimings"]
}

/** Assemble everything the report draws, from stored artifacts only. */
export const reportInput = (ctx: ReportContext) =>
  Effect.gen(function* () {
    const { config, cell } = ctx
    const r = cell.results
    const need = (name: keyof CellResult["results"]): ArtifactRef => {
      const x = r[name]
      if (!x) throw new Error(`report: stage ${name} has not run`)
      return x.ref
    }
    const C = config.task.nBases
    const layer = cell.reportLayer ?? 0
    const pos = cell.reportPosition
    const curves = yield* readTrainingCurves(need("train"))
    const loss = lossByStep(curves)
    const td = yield* readTD(need("probe"))
    const atPos = td.filter((t) => t.position === pos)
    const tdSeries = atPos.filter((t) => t.layer === layer).sort((a, b) => a.step - b.step)
    const steps = [...new Set(atPos.map((t) => t.step))].sort((a, b) => a - b)
    const finalStep = steps[steps.length - 1]
    const embeddings = yield* readEmbeddings(need("embed"))
    const patching = yield* readPatching(need("patch"))
    const errors = yield* readErrorCurves(need("curves"))
    // every patched layer at the final checkpoint; the headline (and the figures) use the layer where
    // patching another basis's mean hurts most relative to the same basis's
    const lastStep = patching.length ? Math.max(...patching.map((p) => p.step)) : NaN
    const byLayer = patching
      .filter((p) => p.step === lastStep)
      .map((p) => {
        const { diagonalMean, offDiagonalMean } = diagonalStats(p.matrix)
        return { layer: p.layer, diagonalMean, offDiagonalMean, ratio: offDiagonalMean / diagonalMean }
      })
    const head = byLayer.reduce<(typeof byLayer)[number] | null>((a, b) => (a === null || b.ratio > a.ratio ? b : a), null)
    const lastPatch = head ? patching.find((p) => p.step === lastStep && p.layer === head.layer) : undefined
    const { diagonalMean: diag, offDiagonalMean: off } = head ?? { diagonalMean: NaN, offDiagonalMean: NaN }
    const finalLoss = Array.from({ length: C }, (_, c) => loss.find((l) => l.step === finalStep && l.concept === c)?.nmse ?? NaN)
    const concepts = Array.from({ length: C }, (_, c) => `B${c + 1}`)
    const artifactKeys = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, `${v!.ref.kind}/${v!.ref.key}`]))
    const input: ReportInput = {
      title: `ConceptScope: concept encoding in sparse linear regression (${config.name}, seed ${cell.seed})`,
      configName: config.name,
      configDescription: config.description,
      params: config,
      concepts,
      reportedLayer: layer,
      lossCurves: loss,
      tdCurves: atPos.map((t) => ({ step: t.step, layer: t.layer, td: t.td, perConcept: t.perConcept })),
      embeddings,
      patching: patching.filter((p) => p.layer === head?.layer).map((p) => ({ ...p })),
      errorVsK: errors.filter((e) => e.basis === -1).map((e) => ({ k: e.k, method: e.method, nmse: e.nmse })),
      pairwiseTD: atPos.filter((t) => t.step === finalStep && t.layer === layer).map((t) => ({ step: t.step, layer: t.layer, matrix: t.pairwise })),
      linearProbe: atPos.filter((t) => Number.isFinite(t.linearProbeAcc) && t.layer === layer).map((t) => ({ step: t.step, layer: t.layer, testAcc: t.linearProbeAcc })),
      summary: {
        config: config.name,
        backend: ctx.backend,
        createdAt: new Date().toISOString(),
        finalNmsePerConcept: finalLoss,
        reportedLayer: layer,
        tdFirst: tdSeries[0]?.td ?? NaN,
        tdFinal: tdSeries[tdSeries.length - 1]?.td ?? NaN,
        tdPeakLayerFinal: bestLayer(td, finalStep, pos),
        coupling: coupling(loss, tdSeries, C),
        patching: lastPatch && head ? { step: lastPatch.step, layer: head.layer, diagonalMean: diag, offDiagonalMean: off, ratio: off / diag, byLayer } : null,
        stageSeconds: Object.fromEntries(ctx.timings.map((t) => [t.stage, t.seconds])),
        artifactKeys
      },
      notes: [...config.notes, ...findings(finalLoss, tdSeries, layer, C, lastPatch ? off / diag : NaN, errors, lastPatch?.layer ?? -1, byLayer)],
      stageTimings: ctx.timings
    }
    return input
  })

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "n/a")

/**
 * Plain statements of what this run shows, computed from its numbers (not hand-written), so the report
 * never claims more than the data: which bases were learned, how TD moved against chance, what patching says.
 */
export function findings(
  finalLoss: readonly number[],
  td: readonly { step: number; td: number; perConcept: number[] }[],
  layer: number,
  nConcepts: number,
  patchRatio: number,
  errors: readonly { method: string; basis: number; k: number; nmse: number }[],
  patchLayer = -1,
  patchByLayer: readonly { layer: number; ratio: number }[] = []
): string[] {
  const name = (c: number) => `B${c + 1}`
  const learned = finalLoss.flatMap((v, c) => (v <= 0.1 ? [name(c)] : []))
  const out: string[] = []
  out.push(
    learned.length === nConcepts
      ? `Every basis was learned: final normalised MSE <= 0.1 for all ${nConcepts} (max ${f2(Math.max(...finalLoss))}).`
      : learned.length === 0
        ? `No basis reached normalised MSE <= 0.1 (final: ${finalLoss.map(f2).join(", ")}); the run shows at most the start of learning.`
        : `Learned (final normalised MSE <= 0.1): ${learned.join(", ")}; not learned: ${finalLoss.flatMap((v, c) => (v > 0.1 ? [`${name(c)} ${f2(v)}`] : [])).join(", ")}.`
  )
  if (td.length > 1) {
    const first = td[0]
    const last = td[td.length - 1]
    const chance = 1 / nConcepts
    const separated = last.perConcept.flatMap((v, c) => (v >= 0.9 ? [name(c)] : []))
    out.push(
      `TD at layer ${layer} went from ${f2(first.td)} to ${f2(last.td)} (chance ${f2(chance)}); ` +
        (separated.length ? `per-basis TD >= 0.9 at the end for ${separated.join(", ")}.` : "no basis reached per-basis TD 0.9.")
    )
  }
  if (Number.isFinite(patchRatio))
    out.push(
      patchRatio >= 2
        ? `Patching at the final checkpoint: off-diagonal loss is ${f2(patchRatio)}x the diagonal, so later layers read the basis from the layer-${patchLayer} representation at the y tokens.`
        : `Patching at the final checkpoint: off-diagonal loss is only ${f2(patchRatio)}x the diagonal at layer ${patchLayer} (the study's mechanism would give >= 2x).`
    )
  if (patchByLayer.length > 1) out.push(`Patching off/diagonal ratio by layer: ${patchByLayer.map((p) => `layer ${p.layer} ${f2(p.ratio)}`).join(", ")} (the layer with the largest ratio is shown).`)
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
