/** summary.md: headline numbers, notes, per-concept table, figure links (PNG). */
import type { ReportInput } from "./input.js"
import type { RenderedFigure } from "./rendered.js"
import { headlineRows, PER_CONCEPT_HEADER, perConceptRows } from "./tables.js"

/** Escape a table cell: pipes and newlines would break the row. */
const cell = (s: string): string => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ")

export const renderMarkdown = (input: ReportInput, figures: readonly RenderedFigure[]): string => {
  const s = input.summary
  const out: string[] = []
  out.push(`# ${input.title}`, "")
  out.push(`config **${input.configName}** · backend **${s.backend}** · reported layer ${input.reportedLayer} (\`blocks.${input.reportedLayer}.hook_resid_post\`)`, "")
  if (input.configDescription) out.push(input.configDescription, "")
  out.push("## Notes", "")
  if (input.notes.length === 0) out.push("_No notes were recorded for this run._")
  for (const n of input.notes) out.push(`- ${n.replace(/\r?\n/g, " ")}`)
  out.push("", "## Headline numbers", "", "| quantity | value |", "|---|---:|")
  for (const [k, v] of headlineRows(input)) out.push(`| ${cell(k)} | ${cell(v)} |`)
  const rows = perConceptRows(input)
  if (rows.length > 0) {
    out.push("", `| ${PER_CONCEPT_HEADER.join(" | ")} |`, `|---|${PER_CONCEPT_HEADER.slice(1).map(() => "---:").join("|")}|`)
    for (const r of rows) out.push(`| ${r.map(cell).join(" | ")} |`)
    out.push("", `p: share of ${s.coupling.surrogates} phase-randomised surrogates of the TD increments (same spectrum, random timing) whose correlation with the loss decrements reaches the observed one.`)
  }
  out.push("", "## Figures", "")
  for (const f of figures) {
    out.push(`### ${f.heading}`, "")
    if (f.pngFile === null) out.push(`_${f.absent}_`, "")
    else out.push(`![${f.heading}](${f.pngFile})`, "", `${f.caption} ([SVG](${f.svgFile}))`, "")
  }
  out.push("", "Full report: [report.html](report.html) · numbers: [summary.json](summary.json)", "")
  return out.join("\n")
}
