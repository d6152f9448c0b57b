/**
 * Opens report.html in headless Chromium: every figure must lay out with a nonzero box, every
 * inlined SVG must parse as SVG, the console must stay free of errors and the page must not
 * request anything but its own file. Skipped only when /usr/bin/chromium is absent.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { chromium } from "playwright-core"
import { describe, expect, it } from "vitest"
import { FIGURES, renderReport } from "../src/index.js"
import { makeReportInput } from "./fixture.js"
import { pngSize } from "./svg-check.js"

const CHROMIUM = "/usr/bin/chromium"
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) console.warn(`[reporters] ${CHROMIUM} not found: skipping the headless-browser check of report.html`)

describe.skipIf(!hasChromium)("report.html in headless Chromium", () => {
  it("renders every figure with a nonzero box, parses every SVG, and logs no errors", async () => {
    const keep = process.env.CONCEPTSCOPE_REPORT_OUT
    const root = keep ?? mkdtempSync(join(tmpdir(), "reporters-"))
    const dir = join(root, "browser")
    const paths = await renderReport(makeReportInput({ seed: 3 }), dir)
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    })
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
      const problems: string[] = []
      const foreign: string[] = []
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console: ${m.text()}`)
      })
      page.on("pageerror", (e) => problems.push(`page: ${e.message}`))
      page.on("request", (r) => {
        if (!r.url().startsWith("file://")) foreign.push(r.url())
      })
      const htmlUrl = pathToFileURL(paths.htmlPath).href
      await page.goto(htmlUrl, { waitUntil: "load" })

      const figures = await page.$$("figure.fig")
      expect(figures.length).toBe(FIGURES.length)
      for (const f of figures) {
        const name = await f.getAttribute("data-figure")
        const svg = await f.$("svg")
        const box = await svg!.boundingBox()
        expect(box, `${name}`).not.toBeNull()
        expect(box!.width, `${name} width`).toBeGreaterThan(100)
        expect(box!.height, `${name} height`).toBeGreaterThan(100)
      }
      // the standalone SVG files parse as SVG in the browser's own XML parser
      for (const f of FIGURES) {
        const text = readFileSync(join(dir, "figures", `${f.name}.svg`), "utf8")
        // evaluated in the page (as source text: this package's TypeScript has no DOM types)
        const result = await page.evaluate<{ error: number; root: string; marks: number }>(
          `(() => { const doc = new DOMParser().parseFromString(${JSON.stringify(text)}, "image/svg+xml");
            return { error: doc.getElementsByTagName("parsererror").length, root: doc.documentElement.nodeName,
                     marks: doc.querySelectorAll("path, rect, text").length } })()`
        )
        expect(result, f.name).toEqual({ error: 0, root: "svg", marks: expect.any(Number) })
        expect(result.marks, f.name).toBeGreaterThan(10)
      }
      // every inlined gradient / clip reference resolves inside the page
      const refs = await page.evaluate<{ count: number; dangling: string[] }>(`(() => {
        const refs = [...document.querySelectorAll("[fill^='url('], [clip-path^='url(']")].map((e) =>
          (e.getAttribute("fill") || e.getAttribute("clip-path") || "").replace(/^url\\(#|\\)$/g, ""))
        return { count: refs.length, dangling: refs.filter((id) => !document.getElementById(id)) }
      })()`)
      expect(refs.count).toBeGreaterThanOrEqual(3) // the colour-legend gradients of the three heatmap figures
      expect(refs.dangling).toEqual([])
      const shot = join(dir, "report-screenshot.png")
      writeFileSync(shot, await page.screenshot({ fullPage: true }))
      expect(pngSize(new Uint8Array(readFileSync(shot)))!.width).toBeGreaterThan(1000)
      expect(problems).toEqual([])
      expect(foreign).toEqual([])
    } finally {
      await browser.close()
      if (!keep) rmSync(root, { recursive: true, force: true })
    }
  })
})
