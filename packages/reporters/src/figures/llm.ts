/**
 * Figures of the LLM half (one concept family on one model): TD against layer per shot count, the
 * TD-accuracy scatter over concepts x shots with its least-squares line, the pairwise TD matrix at the
 * peak layer, and the task-vector effects per concept. Each spec is built from the family's summary
 * numbers only.
 */
import { type VlSpec, conceptColorScale, topLevel } from "./common.js"
import { matrixPanel } from "./matrix.js"

/** "1 shot", "4 shots" */
export const shotsLabel = (n: number): string => `${n} shot${n === 1 ? "" : "s"}`

export interface LlmConceptPoint {
  readonly label: string
  readonly shots: number
  readonly td: number
  readonly accuracy: number
}

export interface LlmVectorEffect {
  readonly mode: string
  readonly sign: string
  readonly label: string
  readonly meanChange: number
  readonly sdChange: number
}

/** Mean TD over the concepts at every layer (-1 = embedding), one line per shot count; the peak layer marked. */
export const llmTdByLayerSpec = (tdByLayer: Readonly<Record<string, readonly number[]>>, layers: readonly number[], peakLayer: number, chance: number, title: string): VlSpec => {
  const rows = Object.entries(tdByLayer).flatMap(([shots, tds]) => tds.map((td, i) => ({ layer: layers[i], shots: shotsLabel(Number(shots)), td })).filter((r) => Number.isFinite(r.td)))
  const x = { field: "layer", type: "quantitative", title: "layer (-1 = embedding)", axis: { tickMinStep: 1 } }
  return topLevel(
    {
      width: 380,
      height: 220,
      layer: [
        { data: { values: rows }, mark: { type: "line", point: true }, encoding: { x, y: { field: "td", type: "quantitative", title: "mean TD over concepts", scale: { domain: [0, 1] } }, color: { field: "shots", type: "nominal", title: null } } },
        { data: { values: [{ chance }] }, mark: { type: "rule", color: "#999", strokeDash: [2, 3] }, encoding: { y: { field: "chance", type: "quantitative" } } },
        { data: { values: [{ peakLayer }] }, mark: { type: "rule", color: "#444", strokeDash: [6, 3] }, encoding: { x: { field: "peakLayer", type: "quantitative" } } }
      ]
    },
    title
  )
}

/** Accuracy against held-out TD at the peak layer, per concept and shot count, with the fitted line. */
export const llmTdAccuracySpec = (points: readonly LlmConceptPoint[], fit: { slope: number; intercept: number; r2: number }, concepts: readonly string[], title: string): VlSpec => {
  const values = points.filter((p) => Number.isFinite(p.td) && Number.isFinite(p.accuracy)).map((p) => ({ ...p, shotsLabel: shotsLabel(p.shots) }))
  const layers: VlSpec[] = [
    {
      data: { values },
      mark: { type: "point", filled: true, size: 60 },
      encoding: {
        x: { field: "td", type: "quantitative", title: "TD at the peak layer (held-out)", scale: { domain: [0, 1] } },
        y: { field: "accuracy", type: "quantitative", title: "accuracy (greedy exact match)", scale: { domain: [0, 1] } },
        color: { field: "label", type: "nominal", title: null, scale: conceptColorScale(concepts) },
        shape: { field: "shotsLabel", type: "nominal", title: null }
      }
    }
  ]
  if (Number.isFinite(fit.slope))
    layers.push({
      data: { values: [0, 1].map((td) => ({ td, accuracy: fit.intercept + fit.slope * td })) },
      mark: { type: "line", color: "#444", clip: true },
      encoding: { x: { field: "td", type: "quantitative" }, y: { field: "accuracy", type: "quantitative" } }
    })
  return topLevel({ width: 300, height: 260, layer: layers }, `${title} (R^2 ${Number.isFinite(fit.r2) ? fit.r2.toFixed(2) : "n/a"})`)
}

/** Pairwise TD (two labels at a time, chance 0.5) at the peak layer, one panel per condition. */
export const llmPairwiseSpec = (matrices: Readonly<Record<string, readonly (readonly number[])[]>>, labels: readonly string[], title: string): VlSpec =>
  topLevel(
    {
      hconcat: Object.entries(matrices).map(([cond, m]) =>
        matrixPanel({
          title: cond.replace(":", ", ") + " shots",
          cells: m.flatMap((row, i) => row.map((value, j) => ({ row: labels[i], col: labels[j], value }))),
          rows: [...labels],
          cols: [...labels],
          rowTitle: "",
          colTitle: "",
          valueTitle: "pairwise TD",
          scheme: "viridis",
          scaleType: "linear",
          domain: [0.5, 1],
          outlineDiagonal: false
        })
      )
    },
    title
  )

/** Accuracy change per concept under each intervention (mean over replicates, bars +- sd). */
export const llmVectorsSpec = (effects: readonly LlmVectorEffect[], concepts: readonly string[], title: string): VlSpec => {
  const values = effects.map((e) => ({ ...e, kind: `${e.mode} ${e.sign}`, lo: e.meanChange - e.sdChange, hi: e.meanChange + e.sdChange }))
  const x = { field: "label", type: "nominal", title: null, sort: [...concepts] }
  return topLevel(
    {
      data: { values },
      facet: { field: "kind", type: "nominal", title: null },
      columns: 2,
      spec: {
        width: 220,
        height: 150,
        layer: [
          { mark: { type: "bar" }, encoding: { x, y: { field: "meanChange", type: "quantitative", title: "accuracy change" }, color: { field: "label", type: "nominal", legend: null, scale: conceptColorScale(concepts) } } },
          { mark: { type: "rule" }, encoding: { x, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } } }
        ]
      }
    },
    title
  )
}

export interface LlmEmbeddingPanel {
  /** e.g. "icl, 4 shots" */
  readonly title: string
  readonly points: readonly { readonly x: number; readonly y: number; readonly label: string }[]
}

/**
 * UMAP of the peak layer's representation at the token before the answer, one panel per condition and
 * shot count, points coloured by label (Null included). Projection coordinates have no units: no ticks.
 */
export const llmEmbeddingSpec = (panels: readonly LlmEmbeddingPanel[], labels: readonly string[], title: string): VlSpec =>
  topLevel(
    {
      hconcat: panels.map((p) => ({
        width: 190,
        height: 190,
        title: p.title,
        data: { values: p.points.filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y)) },
        mark: { type: "circle", size: 20, opacity: 0.75, aria: false },
        encoding: {
          x: { field: "x", type: "quantitative", axis: null, scale: { zero: false } },
          y: { field: "y", type: "quantitative", axis: null, scale: { zero: false } },
          color: { field: "label", type: "nominal", title: null, scale: conceptColorScale(labels) }
        }
      })),
      spacing: 12,
      resolve: { scale: { color: "shared" } }
    },
    title
  )

export interface LlmTable1Bar {
  /** pretrained, firstK, lastK, prompting */
  readonly variant: string
  readonly label: string
  /** "TD at the pretrained peak" or "accuracy" */
  readonly measure: string
  readonly value: number
}

/** The study's Table 1 per concept: grouped bars (one group per concept, one bar per variant), TD and accuracy side by side. */
export const llmTable1Spec = (bars: readonly LlmTable1Bar[], concepts: readonly string[], variants: readonly string[], title: string): VlSpec =>
  topLevel(
    {
      data: { values: bars.filter((b) => Number.isFinite(b.value)) },
      facet: { field: "measure", type: "nominal", title: null },
      columns: 2,
      spec: {
        width: 300,
        height: 170,
        mark: { type: "bar" },
        encoding: {
          x: { field: "label", type: "nominal", title: null, sort: [...concepts] },
          xOffset: { field: "variant", type: "nominal", sort: [...variants] },
          y: { field: "value", type: "quantitative", title: null, scale: { domain: [0, 1] } },
          color: { field: "variant", type: "nominal", sort: [...variants], title: "model" }
        }
      }
    },
    title
  )

export interface LlmTrajectoryPoint {
  readonly step: number
  /** "TD" or "accuracy" */
  readonly measure: string
  readonly mean: number
  readonly spread: number
}

/** TD and accuracy (mean over concepts, band: +- sd) against the training step, on a symmetric-log axis (step 0 included). */
export const llmTrajectorySpec = (points: readonly LlmTrajectoryPoint[], title: string): VlSpec => {
  const values = points.filter((p) => Number.isFinite(p.mean)).map((p) => ({ ...p, lo: p.mean - p.spread, hi: p.mean + p.spread }))
  const x = { field: "step", type: "quantitative", title: "training step", scale: { type: "symlog" } }
  const color = { field: "measure", type: "nominal", title: null }
  return topLevel(
    {
      data: { values },
      width: 360,
      height: 200,
      layer: [
        { mark: { type: "area", opacity: 0.2 }, encoding: { x, y: { field: "lo", type: "quantitative", title: "mean over concepts", scale: { domain: [0, 1] } }, y2: { field: "hi" }, color } },
        { mark: { type: "line", point: true }, encoding: { x, y: { field: "mean", type: "quantitative" }, color } }
      ]
    },
    title
  )
}

export interface HeadImportancePanel {
  /** e.g. the concept */
  readonly title: string
  /** [layer][head] change of the loss when that head alone is ablated */
  readonly change: readonly (readonly number[])[]
}

/** One heatmap per concept: rows layers, columns heads, colour the loss change on ablating that head (shared scale). */
export const headImportanceSpec = (panels: readonly HeadImportancePanel[], title: string): VlSpec => {
  const all = panels.flatMap((p) => p.change.flat()).filter(Number.isFinite)
  const hi = Math.max(1e-9, ...all.map(Math.abs))
  return topLevel(
    {
      hconcat: panels.map((p) => ({
        width: { step: 18 },
        height: { step: 18 },
        title: p.title,
        data: { values: p.change.flatMap((row, l) => row.map((v, h) => ({ layer: l, head: h, v }))).filter((c) => Number.isFinite(c.v)) },
        mark: { type: "rect" },
        encoding: {
          x: { field: "head", type: "ordinal", title: "head" },
          y: { field: "layer", type: "ordinal", title: "layer" },
          color: { field: "v", type: "quantitative", title: "loss change", scale: { scheme: "redblue", reverse: true, domain: [-hi, hi] } }
        }
      }))
    },
    title
  )
}
