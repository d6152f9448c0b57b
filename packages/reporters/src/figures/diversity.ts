/**
 * The task-diversity figure: one column per pool size (M weight vectors per concept, "fresh" = a new
 * w per sequence), three panels sharing that axis: final held-out TD at the query token, the query-token
 * patching effect (off-diagonal and self-patch loss over the unpatched loss) and the model's NMSE over
 * least squares and over the Bayes-optimal predictor for the task's prior. Each seed is a small point;
 * the median a line.
 */
import { type VlSpec, topLevel } from "./common.js"

export interface DiversityPoint {
  /** the grid label: "M1", "M4", ..., "fresh" */
  readonly pool: string
  readonly seed: number
  readonly tdQueryFinal: number
  readonly tdChance: number
  readonly patchOffOverBaseline: number
  readonly patchSelfOverBaseline: number
  readonly nmseOverLeastSquares: number
  readonly nmseOverBayesOptimal: number
}

const WIDTH = 360

export const diversitySpec = (points: readonly DiversityPoint[], title: string): VlSpec | null => {
  if (points.length === 0) return null
  const order = [...new Set(points.map((p) => p.pool))]
  const x = { field: "pool", type: "ordinal", sort: order, title: "weight vectors per concept (M; fresh = a new w per sequence)", axis: { labelAngle: 0 } }
  const panel = (rows: { pool: string; seed: number; series: string; value: number }[], yTitle: string, log: boolean, rule: number | null): VlSpec => {
    const y = { field: "value", type: "quantitative", title: yTitle, scale: log ? { type: "log" } : { domain: [0, 1] } }
    const color = { field: "series", type: "nominal", title: null }
    const layers: VlSpec[] = [
      { mark: { type: "point", filled: true, size: 28, opacity: 0.6 }, encoding: { x, y, color } },
      { mark: { type: "line", strokeWidth: 2 }, encoding: { x, y: { ...y, aggregate: "median" }, color } }
    ]
    if (rule !== null) layers.push({ data: { values: [{ rule }] }, mark: { type: "rule", color: "#999", strokeDash: [2, 3] }, encoding: { y: { field: "rule", type: "quantitative" } } })
    return { width: WIDTH, height: 170, data: { values: rows.filter((r) => Number.isFinite(r.value) && (!log || r.value > 0)) }, layer: layers }
  }
  const rows = (series: string, f: (p: DiversityPoint) => number) => points.map((p) => ({ pool: p.pool, seed: p.seed, series, value: f(p) }))
  return topLevel(
    {
      vconcat: [
        panel(rows("TD, query token (held-out)", (p) => p.tdQueryFinal), "final TD (dotted: chance)", false, points[0].tdChance),
        panel([...rows("another concept's mean", (p) => p.patchOffOverBaseline), ...rows("own concept's mean", (p) => p.patchSelfOverBaseline)], "patched / unpatched loss", true, 1),
        panel([...rows("model / least squares", (p) => p.nmseOverLeastSquares), ...rows("model / Bayes-optimal", (p) => p.nmseOverBayesOptimal)], "query NMSE ratio", true, 1)
      ],
      spacing: 16,
      resolve: { scale: { color: "independent" } }
    },
    title
  )
}
