/**
 * Figure 6a: pairwise TD matrices (TD computed on two concepts at a time; 0.5 is chance).
 * At most MAX_PANELS panels, evenly spaced over the entries given, in their (step, layer) order.
 */
import type { PairwiseTd, ReportInput } from "../input.js"
import { conceptName } from "../input.js"
import { type VlSpec, finiteExtent, topLevel } from "./common.js"
import { type MatrixCell, matrixPanel } from "./matrix.js"

export const MAX_PANELS = 12

/** Indices of `k` entries spread evenly over `n`, always including the first and last. */
export const evenlySpaced = (n: number, k: number): number[] => {
  if (n <= k) return Array.from({ length: n }, (_, i) => i)
  if (k === 1) return [n - 1]
  return [...new Set(Array.from({ length: k }, (_, i) => Math.round((i * (n - 1)) / (k - 1))))]
}

export const pairwiseTdSelection = (entries: PairwiseTd[]): PairwiseTd[] => {
  const sorted = entries.filter((e) => e.matrix.length > 0).sort((a, b) => a.step - b.step || a.layer - b.layer)
  return evenlySpaced(sorted.length, MAX_PANELS).map((i) => sorted[i])
}

export const pairwiseTdSpec = (input: ReportInput): VlSpec | null => {
  const entries = input.pairwiseTD ?? []
  const shown = pairwiseTdSelection(entries)
  if (shown.length === 0) return null
  const ext = finiteExtent(shown.flatMap((e) => e.matrix.flat())) ?? [0.5, 1]
  const domain: [number, number] = [Math.min(0.5, ext[0]), 1]
  const n = Math.max(...shown.map((e) => e.matrix.length))
  const names = Array.from({ length: n }, (_, i) => conceptName(input.concepts, i))
  const panels = shown.map((e) => {
    const cells: MatrixCell[] = []
    e.matrix.forEach((row, i) =>
      row.forEach((value, j) => cells.push({ row: names[i], col: names[j] ?? conceptName(input.concepts, j), value }))
    )
    return matrixPanel({
      title: { text: `step ${e.step}`, subtitle: `layer ${e.layer === -1 ? "embed" : e.layer}` },
      cells,
      rows: names,
      cols: names,
      rowTitle: "concept",
      colTitle: "concept",
      valueTitle: "pairwise TD",
      scheme: "viridis",
      scaleType: "linear",
      domain,
      outlineDiagonal: false
    })
  })
  const title =
    shown.length < entries.length
      ? `Pairwise task decodability (${shown.length} of ${entries.length} matrices)`
      : "Pairwise task decodability"
  return topLevel({ concat: panels, columns: 4, spacing: 24, resolve: { scale: { color: "shared" } } }, title)
}
