/**
 * Figure 3: 2-D projections (UMAP and/or PCA) of the reported layer's activations at the early,
 * two-cluster (or middle) and final checkpoints, one panel each, points coloured by concept. Coordinates of a
 * projection have no units, so the axes carry no ticks.
 */
import type { ReportInput } from "../input.js"
import { conceptName, PHASE_ORDER } from "../input.js"
import { type VlSpec, conceptColorScale, topLevel } from "./common.js"

const PANEL = 210

export const embeddingsSpec = (input: ReportInput): VlSpec | null => {
  const embeddings = input.embeddings.filter((e) => e.points.length > 0)
  if (embeddings.length === 0) return null
  const methods = (["umap", "pca"] as const).filter((m) => embeddings.some((e) => e.method === m))
  const color = { field: "concept", type: "nominal", title: "concept", scale: conceptColorScale(input.concepts) }
  const rows = methods.map((method) => {
    const panels = embeddings
      .filter((e) => e.method === method)
      .sort((a, b) => PHASE_ORDER.indexOf(a.phase) - PHASE_ORDER.indexOf(b.phase) || a.step - b.step)
      .map((e) => ({
        width: PANEL,
        height: PANEL,
        title: { text: `${method.toUpperCase()} · ${e.phase}`, subtitle: `step ${e.step}, layer ${input.reportedLayer}` },
        data: {
          values: e.points
            .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
            .map((p) => ({ x: p.x, y: p.y, concept: conceptName(input.concepts, p.concept) }))
        },
        // aria: false drops a per-point aria-label (a third of the SVG's bytes for a few hundred points)
        mark: { type: "circle", size: 22, opacity: 0.75, aria: false },
        encoding: {
          x: { field: "x", type: "quantitative", axis: null, scale: { zero: false } },
          y: { field: "y", type: "quantitative", axis: null, scale: { zero: false } },
          color
        }
      }))
    return { hconcat: panels, spacing: 14 }
  })
  return topLevel(
    { vconcat: rows, spacing: 18, resolve: { scale: { color: "shared" } } },
    "Layer representation over training, coloured by concept"
  )
}
