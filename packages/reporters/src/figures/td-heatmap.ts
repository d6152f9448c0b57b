/**
 * Figure 2: TD for every (checkpoint, layer), as a heatmap with layers bottom (embedding) to top.
 * Values are printed in the cells while the grid is small enough to read them.
 */
import type { ReportInput } from "../input.js"
import { type VlSpec, cellTextColor, layerLabelExpr, topLevel } from "./common.js"

/** Print values in cells only up to this many cells and this many checkpoints. */
export const MAX_LABELLED_CELLS = 400
export const MAX_LABELLED_STEPS = 24
const REPORTED_COLOR = "#e0115f"

export const tdHeatmapSpec = (input: ReportInput): VlSpec | null => {
  const rows = input.tdCurves.filter((p) => Number.isFinite(p.td))
  if (rows.length === 0) return null
  const steps = [...new Set(rows.map((p) => p.step))].sort((a, b) => a - b)
  const layers = [...new Set(rows.map((p) => p.layer))].sort((a, b) => a - b)
  const cellW = Math.max(2, Math.min(44, Math.floor(720 / steps.length)))
  const cellH = Math.max(10, Math.min(28, Math.floor(360 / layers.length)))
  const values = rows.map((p) => ({
    step: p.step,
    layer: p.layer,
    td: p.td,
    textColor: cellTextColor(p.td, "viridis")
  }))
  const labelled = rows.length <= MAX_LABELLED_CELLS && steps.length <= MAX_LABELLED_STEPS && cellW >= 30
  const x = {
    field: "step",
    type: "ordinal",
    title: "checkpoint (training step)",
    sort: steps,
    axis: { labelAngle: -45, labelOverlap: "greedy", ticks: steps.length <= 40, format: "~s", formatType: "number" }
  }
  const y = {
    field: "layer",
    type: "ordinal",
    title: "layer (resid_post)",
    sort: "descending",
    axis: {
      labelExpr: layerLabelExpr,
      labelFontWeight: { condition: { test: `datum.value == ${input.reportedLayer}`, value: "bold" }, value: "normal" },
      labelColor: { condition: { test: `datum.value == ${input.reportedLayer}`, value: REPORTED_COLOR }, value: "black" }
    }
  }
  const layersSpec: VlSpec[] = [
    {
      mark: { type: "rect" },
      encoding: {
        x,
        y,
        color: { field: "td", type: "quantitative", title: "TD", scale: { scheme: "viridis", domain: [0, 1] }, legend: { gradientLength: Math.max(120, layers.length * cellH - 20) } },
        tooltip: [{ field: "step" }, { field: "layer" }, { field: "td", format: ".3f" }]
      }
    },
    // the reported layer's row, framed by two full-width rules at the edges of its band
    ...(layers.includes(input.reportedLayer) ? [0, 1] : []).map((bandPosition) => ({
      data: { values: [{ layer: input.reportedLayer }] },
      mark: { type: "rule", color: REPORTED_COLOR, strokeWidth: 2 },
      encoding: { y: { ...y, bandPosition } }
    }))
  ]
  if (labelled)
    layersSpec.push({
      mark: { type: "text", fontSize: 10, baseline: "middle" },
      encoding: { x, y, text: { field: "td", type: "quantitative", format: ".2f" }, color: { condition: { test: "datum.textColor === 'white'", value: "white" }, value: "black" } }
    })
  return topLevel(
    {
      data: { values },
      width: { step: cellW },
      height: { step: cellH },
      layer: layersSpec
    },
    `Task decodability by layer and checkpoint (reported layer ${input.reportedLayer} framed)`
  )
}
