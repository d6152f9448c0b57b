/**
 * Figure 5: the trained model's error against the number of in-context examples k at several
 * checkpoints (early, two-cluster, final: solid, light grey to black), next to the reference solvers
 * (least squares, ridge, lasso, the Bayes oracle, the Bayes-optimal predictor: thinner, dashed, in
 * colour). Rows sharing (k, method) are averaged.
 */
import type { ReportInput } from "../input.js"
import { type VlSpec, chooseScaleType, topLevel } from "./common.js"

export const MODEL_METHOD = "model"
const isModel = (m: string) => m === MODEL_METHOD || m.startsWith(`${MODEL_METHOD} (`)

export const errorVsKSpec = (input: ReportInput): VlSpec | null => {
  const rows = input.errorVsK.filter((r) => Number.isFinite(r.nmse) && Number.isFinite(r.k))
  if (rows.length === 0) return null
  const methods = [...new Set(rows.map((r) => r.method))]
  const models = methods.filter(isModel)
  const refs = methods.filter((m) => !isModel(m))
  const ordered = [...models, ...refs]
  const values = rows.map((r) => ({ ...r, isModel: isModel(r.method) ? "model" : "reference" }))
  const yType = chooseScaleType(rows.map((r) => r.nmse))
  // the model's checkpoints in greys ending in black (the last listed is the final one); references in colour
  const greys = models.map((_, i) => (models.length === 1 ? "#111111" : `hsl(0, 0%, ${Math.round(70 - (60 * i) / (models.length - 1))}%)`))
  const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"]
  const range = [...greys, ...refs.map((_, i) => palette[i % palette.length])]
  const x = { field: "k", type: "quantitative", title: "in-context examples k", axis: { tickMinStep: 1 } }
  const y = {
    field: "nmse",
    aggregate: "mean",
    type: "quantitative",
    title: `test NMSE${yType === "log" ? " (log)" : ""}`,
    scale: { type: yType }
  }
  const color = { field: "method", type: "nominal", title: "solver", scale: { domain: ordered, range }, legend: { labelLimit: 280 } }
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
