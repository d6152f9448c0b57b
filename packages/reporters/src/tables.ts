/** Rows of the headline-number tables shared by report.html and summary.md. */
import { fmtNum } from "./figures/common.js"
import type { ReportInput } from "./input.js"

/** [label, value] pairs of the run's headline numbers. */
export const headlineRows = (input: ReportInput): [string, string][] => {
  const s = input.summary
  const layer = (l: number) => (l === -1 ? "embed" : String(l))
  const rows: [string, string][] = [
    [`TD at layer ${s.reportedLayer}, first checkpoint`, fmtNum(s.tdFirst)],
    [`TD at layer ${s.reportedLayer}, final checkpoint`, fmtNum(s.tdFinal)],
    ["peak-TD layer, final checkpoint", layer(s.tdPeakLayerFinal)],
    ["mean Spearman(−loss, TD) over concepts", fmtNum(s.coupling.meanSpearman)],
    ["step where TD got halfway", fmtNum(s.coupling.tdHalfwayStep)]
  ]
  if (s.patching)
    rows.push(
      [`patching (step ${s.patching.step}, layer ${s.patching.layer}): diagonal mean NMSE`, fmtNum(s.patching.diagonalMean)],
      ["patching: off-diagonal mean NMSE", fmtNum(s.patching.offDiagonalMean)],
      ["patching: off-diagonal / diagonal", fmtNum(s.patching.ratio)],
      ...(s.patching.byLayer.length > 1 ? [["patching off/diagonal by layer", s.patching.byLayer.map((b) => `L${b.layer} ${fmtNum(b.ratio)}`).join(", ")] as [string, string]] : [])
    )
  else rows.push(["patching", "not run"])
  return rows
}

