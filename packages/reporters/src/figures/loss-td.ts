/**
 * Figure 1, the central one: per-concept test loss over training (top) and TD of the reported
 * layer (bottom) on one shared step axis, so a loss drop and a TD rise can be lined up by eye.
 * Dotted vertical rules mark the steps where each concept's loss (top) and that concept's own TD
 * (bottom) got halfway (from summary.coupling.perBasis), when known.
 */
import type { ReportInput } from "../input.js"
import { conceptName } from "../input.js"
import { type VlSpec, chooseScaleType, conceptColorScale, finiteExtent, topLevel } from "./common.js"

const WIDTH = 640

export const lossTdSpec = (input: ReportInput): VlSpec | null => {
  const { concepts, reportedLayer } = input
  const loss = input.lossCurves
    .filter((p) => Number.isFinite(p.nmse))
    .map((p) => ({ step: p.step, nmse: p.nmse, concept: conceptName(concepts, p.concept) }))
  const tdRows = input.tdCurves.filter((p) => p.layer === reportedLayer)
  if (loss.length === 0 && tdRows.length === 0) return null

  const allSteps = [...loss.map((p) => p.step), ...tdRows.map((p) => p.step)]
  const xDomain = [Math.min(...allSteps), Math.max(...allSteps)]
  const x = { field: "step", type: "quantitative", title: "training step", scale: { domain: xDomain, nice: false } }
  const color = {
    field: "concept",
    type: "nominal",
    title: "concept",
    scale: conceptColorScale(concepts.length > 0 ? concepts : [...new Set(loss.map((p) => p.concept))])
  }
  const rulesOf = (pick: (b: ReportInput["summary"]["coupling"]["perBasis"][number]) => number | null) =>
    input.summary.coupling.perBasis
      .map((b) => ({ step: pick(b), concept: conceptName(concepts, b.basis) }))
      .filter((r): r is { step: number; concept: string } => r.step !== null && Number.isFinite(r.step))
  const lossRules = rulesOf((b) => b.lossHalfStep)
  const tdRules = rulesOf((b) => b.tdHalfStep)
  const ruleLayer = (values: { step: number; concept: string }[]): VlSpec => ({
    data: { values },
    mark: { type: "rule", strokeDash: [2, 3], strokeWidth: 1.5, opacity: 0.8 },
    encoding: { x, color }
  })

  const panels: VlSpec[] = []
  if (loss.length > 0) {
    const yType = chooseScaleType(loss.map((p) => p.nmse))
    // a log axis "niced" to whole decades wastes most of the panel; pad the data range instead
    const ext = finiteExtent(loss.map((p) => p.nmse))
    const yScale = yType === "log" && ext ? { type: "log", domain: [ext[0] / 1.3, ext[1] * 1.3], nice: false } : { type: yType }
    const layers: VlSpec[] = [
      {
        data: { values: loss },
        mark: { type: "line", strokeWidth: 2, interpolate: "linear" },
        encoding: {
          x,
          y: { field: "nmse", type: "quantitative", title: `test NMSE per concept${yType === "log" ? " (log)" : ""}`, scale: yScale },
          color
        }
      }
    ]
    if (lossRules.length > 0) layers.push(ruleLayer(lossRules))
    panels.push({ width: WIDTH, height: 230, title: "Per-concept test loss", layer: layers })
  }
  if (tdRows.length > 0) {
    const perConcept = tdRows.flatMap((p) =>
      p.perConcept.map((td, i) => ({ step: p.step, td, concept: conceptName(concepts, i) }))
    )
    const chance = concepts.length > 0 ? 1 / concepts.length : null
    const y = { field: "td", type: "quantitative", title: `TD at layer ${reportedLayer}`, scale: { domain: [0, 1] } }
    const layers: VlSpec[] = []
    if (chance !== null)
      layers.push({
        data: { values: [{ chance }] },
        mark: { type: "rule", color: "#999", strokeDash: [1, 3] },
        encoding: { y: { field: "chance", type: "quantitative" } }
      })
    if (perConcept.length > 0)
      layers.push({
        data: { values: perConcept },
        mark: { type: "line", strokeWidth: 1.2, strokeDash: [5, 2], opacity: 0.75 },
        encoding: { x, y, color }
      })
    layers.push({
      data: { values: tdRows.map((p) => ({ step: p.step, td: p.td })) },
      mark: { type: "line", color: "black", strokeWidth: 3, ...(tdRows.length <= 40 ? { point: { filled: true, size: 30, color: "black" } } : {}) },
      encoding: { x, y }
    })
    if (tdRules.length > 0) layers.push(ruleLayer(tdRules))
    panels.push({
      width: WIDTH,
      height: 170,
      title: `Task decodability, layer ${reportedLayer} (black: mean; dashed: per concept)`,
      layer: layers
    })
  }
  return topLevel(
    { vconcat: panels, spacing: 18, resolve: { scale: { x: "shared", color: "shared" } } },
    "Loss drops vs task decodability"
  )
}
