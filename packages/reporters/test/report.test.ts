import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FIGURES, type ReportPaths, decodeSummaryJson, renderReport } from "../src/index.js"
import { makeReportInput, makeSparseInput } from "./fixture.js"
import { countTag, pngSize, svgSize, svgTexts, xmlProblem } from "./svg-check.js"

// set CONCEPTSCOPE_REPORT_OUT to keep the rendered reports for a look; otherwise a temporary directory
const keep = process.env.CONCEPTSCOPE_REPORT_OUT
const root = keep ?? mkdtempSync(join(tmpdir(), "reporters-"))
const outRoot = () => root
afterAll(() => {
  if (!keep) rmSync(root, { recursive: true, force: true })
})

describe("renderReport on a full synthetic run", () => {
  const input = makeReportInput({ seed: 7 })
  let paths: ReportPaths
  let dir: string
  let seconds = 0
  beforeAll(async () => {
    dir = join(outRoot(), "full")
    const t0 = performance.now()
    paths = await renderReport(input, dir)
    seconds = (performance.now() - t0) / 1000
    console.log(`[reporters] full report rendered in ${seconds.toFixed(2)} s -> ${dir}`)
  })

  const svgOf = (name: string) => readFileSync(join(dir, "figures", `${name}.svg`), "utf8")

  it("writes every figure as SVG and PNG, plus report.html, summary.md and summary.json", () => {
    expect(paths.figures.length).toBe(2 * FIGURES.length)
    for (const f of FIGURES) {
      for (const ext of ["svg", "png"]) expect(existsSync(join(dir, "figures", `${f.name}.${ext}`))).toBe(true)
    }
    for (const p of [paths.htmlPath, paths.markdownPath, paths.summaryPath]) expect(existsSync(p)).toBe(true)
  })

  it("SVGs are well-formed and contain marks", () => {
    // minimum mark counts from the data: every heatmap cell, every scatter point, every line
    const nCells = input.tdCurves.length
    const nPoints = input.embeddings.reduce((a, e) => a + e.points.length, 0)
    const minPaths: Record<string, number> = {
      loss_td: input.concepts.length * 2 + 1,
      td_heatmap: nCells,
      embeddings: nPoints,
      patching: input.patching.length * (4 * 4 + 4),
      error_vs_k: 4,
      pairwise_td: 3 * 12,
      linear_probe: 3,
      heads: 4 * 12 * 8 // a cell per concept, layer and head
    }
    for (const f of FIGURES) {
      const svg = svgOf(f.name)
      expect(xmlProblem(svg), f.name).toBeNull()
      expect(svg.startsWith("<svg")).toBe(true)
      expect(countTag(svg, "path") + countTag(svg, "rect"), f.name).toBeGreaterThanOrEqual(minPaths[f.name])
      expect(svg).toContain('font-family="DejaVu Sans"')
    }
  })

  it("the TD heatmap prints exactly the TD values handed in", () => {
    const shown = svgTexts(svgOf("td_heatmap")).filter((t) => /^\d\.\d\d$/.test(t)).sort()
    const expected = input.tdCurves.map((p) => p.td.toFixed(2)).sort()
    expect(shown).toEqual(expected)
  })

  it("figures carry the concept names, axis titles and reported layer", () => {
    const loss = svgTexts(svgOf("loss_td"))
    for (const c of input.concepts) expect(loss).toContain(c)
    expect(loss).toContain("training step")
    expect(loss.some((t) => t.includes(`layer ${input.reportedLayer}`))).toBe(true)
    const patch = svgTexts(svgOf("patching"))
    expect(patch).toContain("unpatched")
    expect(patch).toContain("source concept (input)")
    const errs = svgTexts(svgOf("error_vs_k"))
    expect(errs).toEqual(expect.arrayContaining(["least squares", "lasso", "bayes oracle (knows the basis)"]))
    expect(errs.filter((t) => t.startsWith("model (")).length).toBe(2)
    expect(svgTexts(svgOf("td_heatmap"))).toContain("embed")
  })

  it("PNGs have the PNG signature and twice the SVG size", () => {
    for (const f of FIGURES) {
      const png = new Uint8Array(readFileSync(join(dir, "figures", `${f.name}.png`)))
      const size = pngSize(png)
      expect(size, f.name).not.toBeNull()
      const s = svgSize(svgOf(f.name))
      expect(size!.width).toBe(Math.round(2 * s.width))
      expect(size!.height).toBe(Math.round(2 * s.height))
      expect(png.length).toBeGreaterThan(5000)
    }
  })

  it("summary.json round-trips through the Schema to the summary handed in", async () => {
    const text = readFileSync(paths.summaryPath, "utf8")
    expect(await Effect.runPromise(decodeSummaryJson(text))).toEqual(input.summary)
  })

  it("report.html is self-contained and shows notes, parameters and every figure", () => {
    const html = readFileSync(paths.htmlPath, "utf8")
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/<link\b/i)
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i)
    expect(html).not.toMatch(/url\(\s*["']?(https?:)?\/\//i)
    expect(html).not.toMatch(/@import/i)
    expect(countTag(html, "figure")).toBe(FIGURES.length)
    expect(countTag(html, "svg")).toBe(FIGURES.length)
    for (const n of input.notes) expect(html).toContain(n.replace(/'/g, "&#39;"))
    // parameters are escaped, never injected
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;")
    expect(html).toContain("<details><summary>parameters</summary>")
    expect(html).toContain(input.summary.backend)
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1])
    expect(new Set(ids).size).toBe(ids.length)
    for (const m of html.matchAll(/url\(#([^)]+)\)/g)) expect(ids).toContain(m[1])
    console.log(`[reporters] report.html ${(html.length / 1024).toFixed(0)} KiB, ${seconds.toFixed(2)} s to render`)
  })

  it("summary.md has the headline numbers, notes and links to files that exist", () => {
    const md = readFileSync(paths.markdownPath, "utf8")
    for (const n of input.notes) expect(md).toContain(n)
    const links = [...md.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1])
    expect(links.filter((l) => l.endsWith(".png")).length).toBe(FIGURES.length)
    for (const l of links) expect(existsSync(join(dir, l)), l).toBe(true)
    expect(md).toContain(`| query-token TD, final checkpoint, held-out | ${Number(input.summary.td.queryToken.final.toPrecision(3))} |`)
  })
})

describe("renderReport with empty sections", () => {
  it("draws what it has and says what was not run", async () => {
    const input = makeSparseInput()
    const dir = join(outRoot(), "sparse")
    const paths = await renderReport(input, dir)
    const names = paths.figures.filter((f) => f.endsWith(".svg")).map((f) => f.split("/").pop())
    expect(names).toEqual(["loss_td.svg", "td_heatmap.svg"])
    const html = readFileSync(paths.htmlPath, "utf8")
    expect(html).toContain("Activation patching was not run for this configuration.")
    expect(html).toContain("No UMAP/PCA projections were given")
    expect(html).not.toContain("timings")
    expect(countTag(html, "figure")).toBe(2)
    const md = readFileSync(paths.markdownPath, "utf8")
    expect(md).toContain("| patching | not run |")
    expect(md).toContain("_Linear probes were not run for this configuration._")
    const back = await Effect.runPromise(decodeSummaryJson(readFileSync(paths.summaryPath, "utf8")))
    expect(back.coupling.perBasis[0].pValue).toBeNaN()
    expect(back.patching).toBeNull()
  })

  it("still writes a report when nothing at all was measured", async () => {
    const base = makeSparseInput()
    const paths = await renderReport({ ...base, lossCurves: [], tdCurves: [], concepts: [] }, join(outRoot(), "empty"))
    expect(paths.figures).toEqual([])
    expect(readFileSync(paths.htmlPath, "utf8")).toContain("was not drawn")
  })
})
