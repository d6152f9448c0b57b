/**
 * Vega-Lite spec -> SVG (vega View with renderer "none", no canvas needed) -> PNG (resvg).
 */
import { existsSync } from "node:fs"
import { Resvg } from "@resvg/resvg-js"
import { Effect } from "effect"
import * as vega from "vega"
import { type TopLevelSpec, compile } from "vega-lite"
import { FigureRenderError } from "./errors.js"
import { FONT_FAMILY, type VlSpec } from "./figures/common.js"
import { type FontPair, loadFontMetrics, vegaTextWidth } from "./font-metrics.js"

/** DejaVu Sans regular and bold, as installed on Debian/Ubuntu (package fonts-dejavu-core). */
export const DEFAULT_FONT_FILES: readonly [string, string] = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
]

/** The fonts figures are laid out (vega) and drawn (resvg) with. */
export interface FigureFonts {
  /** font files handed to resvg; empty = resvg loads the system fonts */
  files: string[]
  /** advance widths for vega's layout; null = vega's own 0.8 em/char estimate */
  metrics: FontPair | null
}

/**
 * Load [regular, bold] font files. Missing files are skipped; with no regular font, layout falls
 * back to vega's estimate and PNGs to the system fonts.
 */
export const loadFigureFonts = (files: readonly string[] = DEFAULT_FONT_FILES): FigureFonts => {
  const present = files.filter((f) => existsSync(f))
  const [regularFile, boldFile] = files
  if (!regularFile || !present.includes(regularFile)) return { files: present, metrics: null }
  try {
    const regular = loadFontMetrics(regularFile)
    const bold = boldFile && present.includes(boldFile) ? loadFontMetrics(boldFile) : regular
    return { files: present, metrics: { regular, bold } }
  } catch {
    return { files: present, metrics: null }
  }
}

export interface RenderedSvg {
  svg: string
  /** warnings from vega-lite's compiler and vega's runtime (e.g. a log scale given a zero) */
  warnings: string[]
}

interface VegaTextMetrics {
  width: (item: unknown, text: unknown) => number
}

/**
 * Render a Vega-Lite spec to an SVG string. `figure` names the figure in errors. When `fonts`
 * carries metrics, vega's text measurement is swapped for them during this render and restored
 * afterwards (vega keeps it in a module-level object).
 */
export const specToSvg = (
  figure: string,
  spec: VlSpec,
  fonts: FigureFonts = { files: [], metrics: null }
): Effect.Effect<RenderedSvg, FigureRenderError> => {
  const warnings: string[] = []
  // vega passes an `arguments` object as args, hence Array.from; method is left undefined so
  // that the handler sees errors as well as warnings
  const logger = vega.logger(vega.Warn, undefined, (_method, level, args) => {
    warnings.push(`${level} ${Array.from(args, (a) => (a instanceof Error ? a.message : String(a))).join(" ")}`)
  })
  const textMetrics = (vega as unknown as { textMetrics: VegaTextMetrics }).textMetrics
  return Effect.acquireUseRelease(
    Effect.sync(() => {
      const previous = textMetrics.width
      if (fonts.metrics) textMetrics.width = vegaTextWidth(fonts.metrics) as VegaTextMetrics["width"]
      return previous
    }),
    () =>
      Effect.acquireUseRelease(
        Effect.try({
          try: () => {
            const vgSpec = compile(spec as unknown as TopLevelSpec, { logger }).spec
            return new vega.View(vega.parse(vgSpec), { renderer: "none", logger })
          },
          catch: (e) => new FigureRenderError({ figure, reason: `compile: ${errText(e)}` })
        }),
        (view) =>
          Effect.tryPromise({
            try: () => view.toSVG(),
            catch: (e) => new FigureRenderError({ figure, reason: `render: ${errText(e)}` })
          }).pipe(Effect.map((svg) => ({ svg: stableSvgIds(compactSvgNumbers(svg)), warnings: [...warnings] }))),
        (view) => Effect.sync(() => view.finalize())
      ),
    (previous) =>
      Effect.sync(() => {
        textMetrics.width = previous
      })
  )
}

export interface PngOptions {
  /** pixels per SVG unit (2 = crisp on high-DPI screens and in slides) */
  scale?: number
  fonts?: FigureFonts
}

/** Rasterise an SVG string to PNG bytes. */
export const svgToPng = (figure: string, svg: string, options: PngOptions = {}): Effect.Effect<Uint8Array, FigureRenderError> =>
  Effect.try({
    try: () => {
      const fontFiles = options.fonts?.files ?? []
      const resvg = new Resvg(svg, {
        background: "white",
        fitTo: { mode: "zoom", value: options.scale ?? 2 },
        font: {
          loadSystemFonts: fontFiles.length === 0,
          fontFiles,
          defaultFontFamily: FONT_FAMILY,
          sansSerifFamily: FONT_FAMILY
        }
      })
      return new Uint8Array(resvg.render().asPng())
    },
    catch: (e) => new FigureRenderError({ figure, reason: `png: ${errText(e)}` })
  })

/**
 * Round coordinates in `d` and `transform` attributes to 2 decimals (vega writes up to 17
 * digits): 1/100 of an SVG unit is invisible even at 2x, and scatter plots shrink by a third.
 */
export const compactSvgNumbers = (svg: string): string =>
  svg.replace(/\s(d|transform)="([^"]*)"/g, (_, attr, value: string) => ` ${attr}="${value.replace(/(\d+\.\d\d)\d+/g, "$1")}"`)

/**
 * Prefix every id in an SVG (and every reference to it: url(#id), href="#id") with `prefix`,
 * so that several SVGs inlined in one HTML page cannot collide (vega numbers clip paths and
 * gradients from 1 in every SVG).
 */
export const namespaceSvgIds = (svg: string, prefix: string): string => {
  const ids = new Set<string>()
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) ids.add(m[1])
  if (ids.size === 0) return svg
  const p = (id: string) => (ids.has(id) ? `${prefix}-${id}` : id)
  return svg
    .replace(/(\sid=")([^"]+)(")/g, (_, a, id, b) => `${a}${p(id)}${b}`)
    .replace(/url\(#([^)]+)\)/g, (_, id) => `url(#${p(id)})`)
    .replace(/(href=")#([^"]+)(")/g, (_, a, id, b) => `${a}#${p(id)}${b}`)
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Vega numbers the ids of gradients and clip paths from a counter global to the process (gradient_3 in
 * one process is gradient_7 in another that rendered figures before), so the same figure would not
 * give the same bytes everywhere. Renumber them per figure, per prefix, in order of first definition.
 */
export function stableSvgIds(svg: string): string {
  const renamed = new Map<string, string>()
  const next = new Map<string, number>()
  for (const m of svg.matchAll(/\bid="([A-Za-z_-]*?)(\d+)"/g)) {
    const old = `${m[1]}${m[2]}`
    if (renamed.has(old)) continue
    const n = next.get(m[1]) ?? 0
    next.set(m[1], n + 1)
    renamed.set(old, `${m[1]}${n}`)
  }
  if (renamed.size === 0) return svg
  return svg.replace(/(\bid="|url\(#|href="#)([A-Za-z_-]*?\d+)(?=[")])/g, (all, pre: string, id: string) => {
    const to = renamed.get(id)
    return to === undefined ? all : `${pre}${to}`
  })
}
