/**
 * Figure 4: activation patching. For each (stage, layer): rows = source concept (the input's
 * basis), columns = target concept whose mean activation was patched in, cell = test NMSE after
 * patching; the last column is the unpatched NMSE of that source for reference. The diagonal
 * (self-patching) is outlined. One colour scale for all panels.
 */
import type { ReportInput } from "../input.js"
import { conceptName, PHASE_ORDER } from "../input.js"
import { type VlSpec, chooseScaleType, finiteExtent, topLevel } from "./common.js"
import { type MatrixCell, matrixPanel } from "./matrix.js"

export const UNPATCHED = "unpatched"

export const patchingCells = (concepts: string[], matrix: number[][], unpatched: number[]): MatrixCell[] => {
  const cells: MatrixCell[] = []
  matrix.forEach((row, s) =>
    row.forEach((value, t) => cells.push({ row: conceptName(concepts, s), col: conceptName(concepts, t), value }))
  )
  unpatched.forEach((value, s) => cells.push({ row: conceptName(concepts, s), col: UNPATCHED, value }))
  return cells
}

export const patchingSpec = (input: ReportInput): VlSpec | null => {
  const results = input.patching.filter((p) => p.matrix.length > 0)
  if (results.length === 0) return null
  const sorted = [...results].sort((a, b) => PHASE_ORDER.indexOf(a.phase) - PHASE_ORDER.indexOf(b.phase) || a.step - b.step || a.layer - b.layer)
  const all = sorted.flatMap((p) => [...p.matrix.flat(), ...p.unpatched])
  const scaleType = chooseScaleType(all)
  const domain = finiteExtent(all) ?? [0, 1]
  if (domain[0] === domain[1]) domain[1] = domain[0] + 1
  const n = Math.max(...sorted.map((p) => p.matrix.length))
  const names = Array.from({ length: n }, (_, i) => conceptName(input.concepts, i))
  const panels = sorted.map((p) =>
    matrixPanel({
      title: { text: `${p.phase} checkpoint`, subtitle: `step ${p.step}, layer ${p.layer}` },
      cells: patchingCells(input.concepts, p.matrix, p.unpatched),
      rows: names,
      cols: [...names, UNPATCHED],
      rowTitle: "source concept (input)",
      colTitle: "target concept patched in",
      valueTitle: `test NMSE${scaleType === "log" ? " (log)" : ""}`,
      scheme: "orangered",
      scaleType,
      domain,
      outlineDiagonal: true
    })
  )
  return topLevel(
    { hconcat: panels, spacing: 30, resolve: { scale: { color: "shared" } } },
    "Activation patching: loss after moving the residual to a concept's mean"
  )
}
