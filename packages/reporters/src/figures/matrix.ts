/**
 * A labelled square-ish heatmap panel (rows x columns of named cells), shared by the patching
 * and pairwise-TD figures. Non-finite cells are dropped (left blank).
 */
import { type VlSpec, cellTextColor, fmtNum, scalePosition } from "./common.js"

export interface MatrixCell {
  row: string
  col: string
  value: number
}

export interface MatrixPanelOptions {
  title: string | { text: string; subtitle?: string }
  cells: MatrixCell[]
  rows: string[]
  cols: string[]
  rowTitle: string
  colTitle: string
  valueTitle: string
  scheme: "viridis" | "orangered" | "blues"
  scaleType: "log" | "linear"
  /** shared colour domain across panels */
  domain: [number, number]
  /** outline cells where row === col */
  outlineDiagonal: boolean
}

export const matrixPanel = (o: MatrixPanelOptions): VlSpec => {
  const n = Math.max(o.rows.length, o.cols.length)
  const step = Math.max(18, Math.min(48, Math.floor(300 / Math.max(1, n))))
  const values = o.cells
    .filter((c) => Number.isFinite(c.value))
    .map((c) => ({
      ...c,
      label: fmtNum(c.value, 2),
      textColor: cellTextColor(scalePosition(c.value, o.domain, o.scaleType), o.scheme),
      diagonal: c.row === c.col
    }))
  const x = { field: "col", type: "ordinal", title: o.colTitle, sort: o.cols, axis: { labelAngle: 0, labelOverlap: false } }
  const y = { field: "row", type: "ordinal", title: o.rowTitle, sort: o.rows }
  const layer: VlSpec[] = [
    {
      mark: { type: "rect" },
      encoding: {
        x,
        y,
        color: {
          field: "value",
          type: "quantitative",
          title: o.valueTitle,
          scale: { scheme: o.scheme, type: o.scaleType, domain: o.domain, clamp: true }
        },
        tooltip: [{ field: "row" }, { field: "col" }, { field: "value", format: ".4g" }]
      }
    }
  ]
  if (o.outlineDiagonal)
    layer.push({
      transform: [{ filter: "datum.diagonal" }],
      mark: { type: "rect", filled: false, stroke: "black", strokeWidth: 1.5 },
      encoding: { x, y }
    })
  if (n <= 10)
    layer.push({
      mark: { type: "text", fontSize: step >= 36 ? 11 : 9, baseline: "middle" },
      encoding: { x, y, text: { field: "label", type: "nominal" }, color: { condition: { test: "datum.textColor === 'white'", value: "white" }, value: "black" } }
    })
  return { title: o.title, data: { values }, width: { step }, height: { step }, layer }
}
