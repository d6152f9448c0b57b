/**
 * Figure 6b: held-out accuracy of a linear concept probe per layer, one line per checkpoint
 * (lighter = earlier), with chance level 1/#concepts as a dotted rule.
 */
import type { ReportInput } from "../input.js"
import { type VlSpec, layerLabelExpr, topLevel } from "./common.js"

export const linearProbeSpec = (input: ReportInput): VlSpec | null => {
  const rows = (input.linearProbe ?? []).filter((r) => Number.isFinite(r.testAcc))
  if (rows.length === 0) return null
  const steps = [...new Set(rows.map((r) => r.step))].sort((a, b) => a - b)
  const layers = [...new Set(rows.map((r) => r.layer))].sort((a, b) => a - b)
  const chance = input.concepts.length > 0 ? 1 / input.concepts.length : null
  const x = {
    field: "layer",
    type: "quantitative",
    title: "layer (resid_post)",
    scale: { domain: [layers[0], layers[layers.length - 1]], nice: false },
    axis: { values: layers, labelExpr: layerLabelExpr, labelOverlap: false }
  }
  const y = { field: "testAcc", type: "quantitative", title: "probe test accuracy", scale: { domain: [0, 1] } }
  const layer: VlSpec[] = []
  if (chance !== null)
    layer.push({
      data: { values: [{ chance }] },
      mark: { type: "rule", color: "#888", strokeDash: [2, 3] },
      encoding: { y: { field: "chance", type: "quantitative" } }
    })
  layer.push({
    data: { values: rows },
    mark: { type: "line", strokeWidth: 2, point: { filled: true, size: 30 } },
    encoding: {
      x,
      y,
      color: {
        field: "step",
        type: "ordinal",
        title: "checkpoint step",
        sort: steps,
        scale: { scheme: "viridis", reverse: true }
      }
    }
  })
  return topLevel({ width: Math.max(480, 56 * layers.length), height: 260, layer }, "Linear probe accuracy by layer")
}
