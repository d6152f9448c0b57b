/**
 * Shared pieces of every figure: the theme (fonts that exist on the machine, sizes that stay
 * legible in a PNG), the concept colour scale, and the rules that pick log or linear scales.
 */

/** A Vega-Lite (sub)spec. Kept loose on purpose: specs are checked by vega-lite's compiler at render time. */
export type VlSpec = { [key: string]: unknown }

/** Font used in every figure. DejaVu Sans is installed on the machines here and resvg is given its files. */
export const FONT_FAMILY = "DejaVu Sans"

export const theme: VlSpec = {
  font: FONT_FAMILY,
  background: "white",
  padding: 10,
  title: { fontSize: 14, fontWeight: "bold", anchor: "start", offset: 8 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal", gridColor: "#e5e5e5", tickColor: "#888", domainColor: "#888" },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal", symbolSize: 120 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: "#bbbbbb" },
  concat: { spacing: 24 },
  text: { font: FONT_FAMILY }
}

/** Wrap a body spec into a top-level spec with schema-free defaults and the theme. */
export const topLevel = (body: VlSpec, title?: string): VlSpec => ({
  ...(title ? { title } : {}),
  ...body,
  config: theme
})

/** Colour scale for concepts, in the order given (consistent across all figures). */
export const conceptColorScale = (concepts: readonly string[]): VlSpec => ({
  domain: [...concepts],
  scheme: concepts.length <= 10 ? "tableau10" : "category20"
})

/**
 * Log scale when every value is finite and positive and the values span more than `minRatio`
 * (a decade and a bit); otherwise linear. Losses that fall from 1 to 0.01 are unreadable on a
 * linear axis; values near or at 0 cannot go on a log axis.
 */
export const chooseScaleType = (values: readonly number[], minRatio = 20): "log" | "linear" => {
  const finite = values.filter((v) => Number.isFinite(v))
  if (finite.length === 0 || finite.some((v) => v <= 0)) return "linear"
  const min = Math.min(...finite)
  const max = Math.max(...finite)
  return max / min > minRatio ? "log" : "linear"
}

/** [min, max] of the finite values, or null when there are none. */
export const finiteExtent = (values: readonly number[]): [number, number] | null => {
  let lo = Infinity
  let hi = -Infinity
  for (const v of values) {
    if (!Number.isFinite(v)) continue
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  return lo <= hi ? [lo, hi] : null
}

/** Position of `v` in [lo, hi] on a linear or log scale, clamped to [0, 1]. */
export const scalePosition = (v: number, [lo, hi]: [number, number], type: "log" | "linear"): number => {
  const f = type === "log" ? Math.log : (x: number) => x
  const span = f(hi) - f(lo)
  if (!(span > 0)) return 0.5
  return Math.min(1, Math.max(0, (f(v) - f(lo)) / span))
}

/**
 * Text colour readable on a cell of a sequential colour scheme at position t in [0, 1].
 * viridis is dark at the low end; orangered / reds / blues are dark at the high end.
 */
export const cellTextColor = (t: number, scheme: "viridis" | "orangered" | "blues"): string =>
  scheme === "viridis" ? (t < 0.55 ? "white" : "black") : t > 0.6 ? "white" : "black"

/** Compact number for cells and tables: 3 significant digits, no trailing zeros. */
export const fmtNum = (v: number | null | undefined, digits = 3): string => {
  if (v === null || v === undefined) return "–"
  if (Number.isNaN(v)) return "NaN"
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "-∞"
  if (v === 0) return "0"
  const a = Math.abs(v)
  if (a >= 1e5 || a < 1e-3) return v.toExponential(digits - 1).replace(/\.?0+e/, "e")
  return String(Number(v.toPrecision(digits)))
}

/** Vega expression labelling layer -1 as "embed". */
export const layerLabelExpr = "datum.value == -1 ? 'embed' : 'L' + datum.value"
