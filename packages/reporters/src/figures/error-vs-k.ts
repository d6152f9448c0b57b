/**
 * Figure 5: the trained model's error against the number of in-context examples k, next to the
 * reference solvers (least squares, lasso, the basis oracle, ...). The model is the thick solid
 * line; references are thinner and dashed. Rows sharing (k, method) are averaged.
 */
import type { ReportInput } from "../input.js"
import { type VlSpec, chooseScaleType, topLevel } from "./common.js"

export const MODEL_METHOD = "model"

export const errorVsKSpec = (input: ReportInput): VlSpec | null => {
  const rows = input.errorVsK.filter((r) => Number.isFinite(r.nmse) && Number.isFinite(r.k))
  if (rows.length === 0) return null
  const methods = [...new Set(rows.map((r) => r.method))]
  const ordered = [...methods.filter((m) => m === MODEL_METHOD), ...methods.filter((m) => m !== MODEL_METHOD)]
  const values = rows.map((r) => ({ ...r, isModel: r.method === MODEL_METHOD ? "model" : "reference" }))
  const yType = chooseScaleType(rows.map((r) => r.nmse))
  const palette = ["#111111", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
  // black is reserved for the model; references take the other colours in order
  const offset = ordered.includes(MODEL_METHOD) ? 0 : 1
  const range = ordered.map((_, i) => palette[(i + offset) % palette.length])
  const x = { field: "k", type: "quantitative", title: "in-context examples k", axis: { tickMinStep: 1 } }
  const y = {
    field: "nmse",
    aggregate: "mean",
    type: "quantitative",
    title: `test NMSE${yType === "log" ? " (log)" : ""}`,
    scale: { type: yType }
  }
  const color = { field: "method", type: "nominal", title: "solver", scale: { domain: ordered, range } }
  return topLevel(
    {
      data: { values },
      width: 520,
      height: 300,
      layer: [
        {
          transform: [{ filter: "datum.isModel === 'reference'" }],
          mark: { type: "line", strokeWidth: 1.8, strokeDash: [6, 3] },
          encoding: { x, y, color }
        },
        {
          transform: [{ filter: "datum.isModel === 'model'" }],
          mark: { type: "line", strokeWidth: 3.5 },
          encoding: { x, y, color }
        },
        { mark: { type: "point", filled: true, size: 28 }, encoding: { x, y, color } }
      ]
    },
    "Error vs number of in-context examples"
  )
}
