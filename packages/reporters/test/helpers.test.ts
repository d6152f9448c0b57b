import { existsSync } from "node:fs"
import { Resvg } from "@resvg/resvg-js"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { DEFAULT_FONT_FILES, diversitySpec, FIGURES, FigureRenderError, errorVsKSpec, loadFigureFonts, patchingSpec, specToSvg, tdHeatmapSpec } from "../src/index.js"
import { loadFontMetrics } from "../src/font-metrics.js"
import { compactSvgNumbers, namespaceSvgIds } from "../src/render.js"
import { cellTextColor, chooseScaleType, fmtNum, scalePosition } from "../src/figures/common.js"
import { evenlySpaced, pairwiseTdSelection } from "../src/figures/pairwise-td.js"
import { patchingCells } from "../src/figures/patching.js"
import { makeReportInput } from "./fixture.js"
import { svgTexts } from "./svg-check.js"

describe("scale and format helpers", () => {
  it("chooses log only for positive data spanning more than the ratio", () => {
    expect(chooseScaleType([1, 0.01])).toBe("log")
    expect(chooseScaleType([0, 0.01, 1])).toBe("linear")
    expect(chooseScaleType([0.5, 1])).toBe("linear")
    expect(chooseScaleType([NaN, 1, 0.001])).toBe("log")
    expect(chooseScaleType([])).toBe("linear")
  })
  it("places values on linear and log scales", () => {
    expect(scalePosition(10, [1, 100], "log")).toBeCloseTo(0.5, 12)
    expect(scalePosition(50.5, [1, 100], "linear")).toBeCloseTo(0.5, 12)
    expect(scalePosition(1000, [1, 100], "log")).toBe(1)
    expect(cellTextColor(0.1, "viridis")).toBe("white")
    expect(cellTextColor(0.9, "viridis")).toBe("black")
    expect(cellTextColor(0.9, "orangered")).toBe("white")
  })
  it("formats numbers compactly", () => {
    expect(fmtNum(0.012345)).toBe("0.0123")
    expect(fmtNum(1234.5)).toBe("1230")
    expect(fmtNum(1e-4)).toBe("1e-4")
    expect(fmtNum(2.5e-5)).toBe("2.5e-5")
    expect(fmtNum(null)).toBe("–")
    expect(fmtNum(NaN)).toBe("NaN")
    expect(fmtNum(0)).toBe("0")
  })
  it("spreads pairwise-TD panels evenly, keeping first and last", () => {
    const idx = evenlySpaced(30, 12)
    expect(idx.length).toBe(12)
    expect(idx[0]).toBe(0)
    expect(idx[11]).toBe(29)
    for (let i = 1; i < idx.length; i++) expect(idx[i]).toBeGreaterThan(idx[i - 1])
    expect(evenlySpaced(5, 12)).toEqual([0, 1, 2, 3, 4])
    const many = Array.from({ length: 40 }, (_, i) => ({ step: i * 100, layer: 5, matrix: [[NaN, 1], [1, NaN]] }))
    expect(pairwiseTdSelection(many).map((e) => e.step)).toEqual(evenlySpaced(40, 12).map((i) => i * 100))
  })
})

describe("spec builders", () => {
  const input = makeReportInput({ checkpoints: 9 })
  it("patching cells are the matrix plus one unpatched column per source", () => {
    const p = input.patching[1]
    const cells = patchingCells(input.concepts, p.matrix, p.unpatched)
    expect(cells.length).toBe(4 * 4 + 4)
    expect(cells.find((c) => c.row === "B3" && c.col === "B2")!.value).toBe(p.matrix[2][1])
    expect(cells.find((c) => c.row === "B4" && c.col === "unpatched")!.value).toBe(p.unpatched[3])
  })
  it("every figure compiles and renders without vega / vega-lite warnings", async () => {
    const small = makeReportInput({ checkpoints: 5, pointsPerConcept: 10 })
    const fonts = loadFigureFonts()
    for (const f of FIGURES) {
      const r = await Effect.runPromise(specToSvg(f.name, f.spec(small)!, fonts))
      expect(r.warnings, f.name).toEqual([])
      expect(r.svg.length).toBeGreaterThan(1000)
    }
  })
  it("the diversity figure renders every pool and series without warnings", async () => {
    const pools = ["M1", "M4", "fresh"]
    const points = pools.flatMap((pool, i) =>
      [1, 2].map((seed) => ({ pool, seed, tdQueryFinal: 0.9 - 0.3 * i, tdChance: 0.25, patchOffOverBaseline: 3 - i, patchSelfOverBaseline: 1.2, nmseOverLeastSquares: 0.1 * (i + 1), nmseOverBayesOptimal: 5 * (i + 1) }))
    )
    const r = await Effect.runPromise(specToSvg("diversity", diversitySpec(points, "test")!, loadFigureFonts()))
    expect(r.warnings).toEqual([])
    const texts = svgTexts(r.svg)
    for (const t of [...pools, "another concept's mean", "own concept's mean", "model / least squares", "model / Bayes-optimal"]) expect(texts).toContain(t)
    expect(diversitySpec([], "empty")).toBeNull()
  })
  it("the warning collector does see vega-lite warnings", async () => {
    const spec = { data: { values: [{ a: "x", b: 1 }] }, mark: "line", encoding: { x: { field: "b", type: "quantitative" }, strokeWidth: { field: "a", type: "nominal" } } }
    const r = await Effect.runPromise(specToSvg("warn", spec))
    expect(r.warnings.some((w) => w.includes("strokeWidth"))).toBe(true)
  })
  it("returns null (section says not run) when data is absent", () => {
    expect(patchingSpec({ ...input, patching: [] })).toBeNull()
    expect(errorVsKSpec({ ...input, errorVsK: [] })).toBeNull()
    expect(tdHeatmapSpec({ ...input, tdCurves: [] })).toBeNull()
  })
})

describe("SVG post-processing and errors", () => {
  it("rounds path and transform coordinates to 2 decimals and leaves text alone", () => {
    const svg = `<svg><path transform="translate(121.11904007376116,164.0651015003854)" d="M2.3456,0L10,7.999"/><text x="1.23456">0.123456</text></svg>`
    expect(compactSvgNumbers(svg)).toBe(
      `<svg><path transform="translate(121.11,164.06)" d="M2.34,0L10,7.99"/><text x="1.23456">0.123456</text></svg>`
    )
  })
  it("fails with a FigureRenderError naming the figure for an invalid spec", async () => {
    const r = await Effect.runPromise(Effect.either(specToSvg("broken", { mark: "nonsense-mark", data: { values: [] } })))
    expect(r._tag).toBe("Left")
    if (r._tag === "Left") {
      expect(r.left).toBeInstanceOf(FigureRenderError)
      expect(r.left.figure).toBe("broken")
    }
  })
})

describe("SVG id namespacing", () => {
  it("the same figure renders to the same bytes however many figures the process rendered before", async () => {
    const input = makeReportInput({ checkpoints: 5 })
    const first = (await Effect.runPromise(specToSvg("p", patchingSpec(input)!))).svg
    await Effect.runPromise(specToSvg("t", tdHeatmapSpec(input)!)) // advances vega's global id counters
    const again = (await Effect.runPromise(specToSvg("p", patchingSpec(input)!))).svg
    expect(first).toMatch(/id="gradient_0"/)
    expect(again).toBe(first)
  })
  it("makes ids of several inlined SVGs unique and keeps every reference resolvable", async () => {
    const input = makeReportInput({ checkpoints: 5 })
    const a = (await Effect.runPromise(specToSvg("a", tdHeatmapSpec(input)!))).svg
    const b = (await Effect.runPromise(specToSvg("b", patchingSpec(input)!))).svg
    const both = [namespaceSvgIds(a, "fig-a"), namespaceSvgIds(b, "fig-b")]
    const ids = both.flatMap((s) => [...s.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]))
    expect(ids.length).toBeGreaterThan(0)
    expect(new Set(ids).size).toBe(ids.length)
    for (const s of both) {
      const own = new Set([...s.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]))
      for (const m of s.matchAll(/url\(#([^)]+)\)/g)) expect(own.has(m[1])).toBe(true)
    }
    // the same SVG namespaced twice with different prefixes collides nowhere
    const x = namespaceSvgIds(a, "p"), y = namespaceSvgIds(a, "q")
    const xi = [...x.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1])
    const yi = new Set([...y.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]))
    expect(xi.some((i) => yi.has(i))).toBe(false)
  })
})

describe.skipIf(!existsSync(DEFAULT_FONT_FILES[0]))("font metrics for vega layout", () => {
  it("match the glyph extent resvg draws, far closer than vega's 0.8 em/char estimate", () => {
    const fonts = loadFigureFonts()
    const regular = loadFontMetrics(DEFAULT_FONT_FILES[0])
    for (const [text, weight] of [
      ["Task decodability by layer and checkpoint", "normal"],
      ["target concept patched in 0.019", "normal"],
      ["Loss drops vs task decodability", "bold"]
    ] as const) {
      const size = 100
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="4000" height="200"><text x="10" y="150" font-family="DejaVu Sans" font-weight="${weight}" font-size="${size}">${text}</text></svg>`
      const bbox = new Resvg(svg, { font: { loadSystemFonts: false, fontFiles: fonts.files, defaultFontFamily: "DejaVu Sans" } }).getBBox()!
      const ours = (weight === "bold" ? fonts.metrics!.bold : fonts.metrics!.regular).width(text, size)
      const estimate = 0.8 * text.length * size
      // the ink box excludes the side bearings of the first and last glyph: a few % at most
      expect(Math.abs(ours - bbox.width) / bbox.width).toBeLessThan(0.03)
      expect(Math.abs(estimate - bbox.width) / bbox.width).toBeGreaterThan(0.15)
    }
    // bold is wider than regular
    expect(fonts.metrics!.bold.width("Hello", 12)).toBeGreaterThan(regular.width("Hello", 12))
  })
})
