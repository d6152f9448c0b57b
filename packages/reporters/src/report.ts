/**
 * renderReport: every figure to figures/<name>.svg and .png, then report.html, summary.md and
 * summary.json in `outDir`. Figures render one after another (vega and resvg are single-threaded
 * and the machines here have 2 cores shared with other work).
 */
import { mkdir, rename, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Cause, Effect, Exit } from "effect"
import { type FigureRenderError, ReportWriteError, type SummaryDecodeError } from "./errors.js"
import { FIGURES, type FigureDef } from "./figures/index.js"
import { renderHtml } from "./html.js"
import type { ReportInput } from "./input.js"
import { renderMarkdown } from "./markdown.js"
import { loadFigureFonts, specToSvg, svgToPng } from "./render.js"
import type { RenderedFigure } from "./rendered.js"
import { encodeSummaryJson } from "./summary.js"

export interface ReportPaths {
  htmlPath: string
  /** absolute paths of every figure file written (.svg and .png) */
  figures: string[]
  summaryPath: string
  markdownPath: string
}

export interface RenderOptions {
  /** PNG pixels per SVG unit; default 2 */
  pngScale?: number
  /** [regular, bold] font files for layout and PNG; default DejaVu Sans from /usr/share/fonts */
  fontFiles?: readonly string[]
  /** which figures to draw; default all of FIGURES */
  figures?: readonly FigureDef[]
}

/** Write a file atomically (temporary name in the same directory, then rename). */
const writeAtomic = (path: string, data: string | Uint8Array): Effect.Effect<void, ReportWriteError> =>
  Effect.tryPromise({
    try: async () => {
      const tmp = `${path}.tmp-${process.pid}`
      await writeFile(tmp, data)
      await rename(tmp, path)
    },
    catch: (e) => new ReportWriteError({ file: path, reason: String(e) })
  })

const mkdirp = (dir: string) =>
  Effect.tryPromise({
    try: () => mkdir(dir, { recursive: true }),
    catch: (e) => new ReportWriteError({ file: dir, reason: String(e) })
  })

export const renderReportEffect = (
  input: ReportInput,
  outDir: string,
  options: RenderOptions = {}
): Effect.Effect<ReportPaths, FigureRenderError | ReportWriteError | SummaryDecodeError> =>
  Effect.gen(function* () {
    const summaryJson = yield* encodeSummaryJson(input.summary)
    const fonts = loadFigureFonts(options.fontFiles)
    const figDir = join(outDir, "figures")
    yield* mkdirp(figDir)
    const rendered: RenderedFigure[] = []
    const written: string[] = []
    for (const def of options.figures ?? FIGURES) {
      const spec = def.spec(input)
      const base: RenderedFigure = {
        name: def.name,
        heading: def.heading,
        caption: def.caption(input),
        absent: def.absent,
        svg: null,
        svgFile: null,
        pngFile: null
      }
      if (spec === null) {
        rendered.push(base)
        continue
      }
      const { svg, warnings } = yield* specToSvg(def.name, spec, fonts)
      for (const w of warnings) yield* Effect.logWarning(`figure ${def.name}: ${w}`)
      const png = yield* svgToPng(def.name, svg, { scale: options.pngScale, fonts })
      const svgPath = join(figDir, `${def.name}.svg`)
      const pngPath = join(figDir, `${def.name}.png`)
      yield* writeAtomic(svgPath, svg)
      yield* writeAtomic(pngPath, png)
      written.push(svgPath, pngPath)
      rendered.push({ ...base, svg, svgFile: `figures/${def.name}.svg`, pngFile: `figures/${def.name}.png` })
    }
    const htmlPath = join(outDir, "report.html")
    const markdownPath = join(outDir, "summary.md")
    const summaryPath = join(outDir, "summary.json")
    yield* writeAtomic(htmlPath, renderHtml(input, rendered))
    yield* writeAtomic(markdownPath, renderMarkdown(input, rendered))
    yield* writeAtomic(summaryPath, summaryJson)
    return { htmlPath, figures: written, summaryPath, markdownPath }
  })

/** Promise form of renderReportEffect; rejects with the tagged error. */
export const renderReport = async (input: ReportInput, outDir: string, options: RenderOptions = {}): Promise<ReportPaths> => {
  const exit = await Effect.runPromiseExit(renderReportEffect(input, outDir, options))
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}
