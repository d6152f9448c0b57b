/**
 * report.html: one self-contained page (inline CSS, inline SVG figures, no scripts, no external
 * URLs) that opens from a file system or a CI artifact store.
 */
import type { ReportInput } from "./input.js"
import { type RenderedFigure, escapeHtml as esc } from "./rendered.js"
import { namespaceSvgIds } from "./render.js"
import { headlineRows, PER_CONCEPT_HEADER, perConceptRows } from "./tables.js"

const CSS = `
:root { --fg:#1d1d1f; --muted:#5f6368; --line:#d9d9de; --accent:#b3261e; --bg-note:#fff7e0; --note-line:#e0a800; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: #fafafa; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 60px; background: white; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header .meta { color: var(--muted); margin: 0; }
header .meta b { color: var(--fg); font-weight: 600; }
h2 { margin: 36px 0 10px; font-size: 20px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 18px 0 6px; }
.notes { background: var(--bg-note); border-left: 5px solid var(--note-line); padding: 12px 18px; margin: 20px 0; }
.notes h2 { border: 0; margin: 0 0 6px; padding: 0; font-size: 18px; }
.notes ul { margin: 0; padding-left: 20px; }
.notes li { margin: 4px 0; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 12px 4px 0; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; padding-right: 16px; }
tr.total td { font-weight: 600; border-top: 2px solid var(--line); }
.hit { color: #137333; } .miss { color: var(--muted); }
details { margin: 10px 0; } summary { cursor: pointer; color: var(--muted); }
pre { background: #f4f4f6; padding: 10px 12px; overflow-x: auto; font-size: 12.5px; }
figure.fig { margin: 14px 0 28px; }
figure.fig .svg { overflow-x: auto; }
figure.fig svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 14px; max-width: 900px; margin-top: 6px; }
figcaption a { color: var(--muted); }
p.absent { color: var(--accent); font-style: italic; }
.grid { display: flex; flex-wrap: wrap; gap: 8px 40px; align-items: flex-start; }
code { font-size: 13px; }
`

export const renderHtml = (input: ReportInput, figures: readonly RenderedFigure[]): string => {
  const s = input.summary
  const notes =
    input.notes.length > 0
      ? `<section class="notes" id="notes"><h2>What this run shows, and what it does not</h2><ul>${input.notes
          .map((n) => `<li>${esc(n)}</li>`)
          .join("")}</ul></section>`
      : `<section class="notes" id="notes"><h2>Notes</h2><p>No notes were recorded for this run.</p></section>`
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(input.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>${esc(input.title)}</h1>
<p class="meta">config <b>${esc(input.configName)}</b> · backend <b>${esc(s.backend)}</b> · reported layer <b>${input.reportedLayer}</b> (<code>blocks.${input.reportedLayer}.hook_resid_post</code>)</p>
<p>${esc(input.configDescription)}</p>
<details><summary>parameters</summary><pre>${esc(safeJson(input.params))}</pre></details>
</header>
${notes}
<section id="summary">
<h2>Summary numbers</h2>
<div class="grid">
<table>${headlineRows(input).map(([k, v]) => `<tr><th>${esc(k)}</th><td class="num">${esc(v)}</td></tr>`).join("")}</table>
${perConceptTable(input)}
</div>
${artifactKeys(input)}
</section>
<section id="figures">
${figures.map(figureHtml).join("\n")}
</section>
</main>
</body>
</html>
`
}

const figureHtml = (f: RenderedFigure): string => {
  const body =
    f.svg === null
      ? `<p class="absent">${esc(f.absent)}</p>`
      : `<figure class="fig" id="fig-${f.name}" data-figure="${f.name}"><div class="svg">${displayScaled(
          namespaceSvgIds(stripXmlProlog(f.svg), `fig-${f.name}`)
        )}</div><figcaption>${esc(f.caption)} <span class="files">(<a href="${esc(f.pngFile ?? "")}">PNG</a>, <a href="${esc(
          f.svgFile ?? ""
        )}">SVG</a>)</span></figcaption></figure>`
  return `<section class="figure-section" id="section-${f.name}"><h2>${esc(f.heading)}</h2>${body}</section>`
}

const perConceptTable = (input: ReportInput): string => {
  const rows = perConceptRows(input)
  if (rows.length === 0) return ""
  const head = PER_CONCEPT_HEADER.map((h, i) => `<th${i ? ' class="num"' : ""}>${esc(h)}</th>`).join("")
  const body = rows.map((r) => `<tr>${r.map((v, i) => `<td${i ? ' class="num"' : ""}>${esc(v)}</td>`).join("")}</tr>`).join("")
  return `<table><tr>${head}</tr>${body}</table>`
}

const artifactKeys = (input: ReportInput): string => {
  const entries = Object.entries(input.summary.artifactKeys)
  if (entries.length === 0) return ""
  return `<details><summary>artifact keys (${entries.length})</summary><table>${entries
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td><code>${esc(v)}</code></td></tr>`)
    .join("")}</table></details>`
}

/** Figures are laid out for 2x PNGs; on screen show them 1.25x their SVG size, never wider than the page. */
export const HTML_FIGURE_SCALE = 1.25

const displayScaled = (svg: string): string => {
  const m = /^<svg[^>]*\swidth="([\d.]+)"/.exec(svg)
  if (!m) return svg
  const width = Math.round(Number(m[1]) * HTML_FIGURE_SCALE)
  return svg.replace(/^<svg/, `<svg style="width:${width}px"`)
}

const stripXmlProlog = (svg: string): string => svg.replace(/^<\?xml[^>]*>\s*/, "")

/** JSON for the parameters block; never throws (cycles and BigInts are shown as strings). */
export const safeJson = (v: unknown): string => {
  const seen = new WeakSet<object>()
  try {
    return (
      JSON.stringify(
        v,
        (_k, x) => {
          if (typeof x === "bigint") return x.toString()
          if (typeof x === "number" && !Number.isFinite(x)) return String(x)
          if (x !== null && typeof x === "object") {
            if (seen.has(x)) return "[circular]"
            seen.add(x)
          }
          return x
        },
        2
      ) ?? "null"
    )
  } catch (e) {
    return `unprintable parameters: ${String(e)}`
  }
}
