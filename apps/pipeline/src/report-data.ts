import type { ArtifactRef } from "@conceptscope/artifacts"
import { diagonalStats } from "@conceptscope/interventions"
import { halfwayCrossing, spearman } from "@conceptscope/probes"
import type { ReportInput } from "@conceptscope/reporters"
import { Effect } from "effect"
import type { CellResult } from "./cell"
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
    const finalRows = atPos.filter((t) => t.step === finalStep && t.layer >= 0)
    const peak = finalRows.reduce((b, t) => (t.td > b.td ? t : b), finalRows[0])
    const embeddings = yield* readEmbeddings(need("embed"))
    const patching = yield* readPatching(need("patch"))
    const errors = yield* readErrorCurves(need("curves"))
    const lastPatch = patching[patching.length - 1]
    const { diagonalMean: diag, offDiagonalMean: off } = lastPatch ? diagonalStats(lastPatch.matrix) : { diagonalMean: NaN, offDiagonalMean: NaN }
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
      patching: patching.map((p) => ({ ...p })),
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
        tdPeakLayerFinal: peak?.layer ?? -1,
        coupling: coupling(loss, tdSeries, C),
        patching: lastPatch ? { step: lastPatch.step, diagonalMean: diag, offDiagonalMean: off, ratio: off / diag } : null,
        stageSeconds: Object.fromEntries(ctx.timings.map((t) => [t.stage, t.seconds])),
        artifactKeys
      },
      notes: [...config.notes],
      stageTimings: ctx.timings
    }
    return input
  })
