/** Rows of the headline-number tables shared by report.html and summary.md. */
import { fmtNum } from "./figures/common.js"
import { conceptName, type ReportInput } from "./input.js"

/** [label, value] pairs of the run's headline numbers. */
export const headlineRows = (input: ReportInput): [string, string][] => {
  const s = input.summary
  const q = s.td.queryToken
  const rows: [string, string][] = [
    [`query-token TD (token ${q.position}, layer ${q.layer}, chosen on: ${q.layerChosenOn}), first checkpoint, held-out`, fmtNum(q.first)],
    ["query-token TD, final checkpoint, held-out", fmtNum(q.final)]
  ]
  if (s.td.position !== q.position)
    rows.push(
      [`report-position TD (token ${s.td.position}, layer ${s.td.layer}, chosen on: ${s.td.layerChosenOn}), first, held-out`, fmtNum(s.td.first)],
      ["report-position TD, final, held-out", fmtNum(s.td.final)]
    )
  rows.push(["peak-TD layer on all probe sequences (after the fact, reference only)", String(s.td.peakLayerAllSequences)])
  if (s.td.groups)
    rows.push(
      ["group TD (basis groups as labels)", fmtNum(s.td.groups.groupTd)],
      ["pairwise TD within groups / across groups", `${fmtNum(s.td.groups.withinPairwise)} / ${fmtNum(s.td.groups.acrossPairwise)}`],
      ...(s.td.groups.atFirst
        ? [[`null, the untrained model (step ${s.td.groups.atFirst.step}): group TD; within / across`, `${fmtNum(s.td.groups.atFirst.groupTd)}; ${fmtNum(s.td.groups.atFirst.withinPairwise)} / ${fmtNum(s.td.groups.atFirst.acrossPairwise)}`] as [string, string]]
        : [])
    )
  rows.push([
    `query NMSE (k = ${s.nmse.k}, step ${s.nmse.step}): model / least squares / Bayes oracle / Bayes-optimal`,
    [s.nmse.model, s.nmse.leastSquares, s.nmse.bayesOracle, s.nmse.bayesOptimal].map((v) => fmtNum(v)).join(" / ")
  ])
  rows.push(["two-cluster stage (from per-basis loss)", s.twoCluster ? `step ${s.twoCluster.step}: learned ${s.twoCluster.learned.map((c) => conceptName(input.concepts, c)).join(", ")}` : "not detected"])
  if (s.patching) {
    for (const c of s.patching.checkpoints)
      rows.push([
        `patching at ${s.patching.positions}, layer ${s.patching.layer} (${s.patching.layerChosenOn}), ${c.phase} step ${c.step}: off-diagonal / baseline, self / baseline`,
        `${fmtNum(c.offDiagonalOverBaseline)}, ${fmtNum(c.selfOverBaseline)}`
      ])
    if (s.patching.byLayer.length > 1)
      rows.push(["patching off-diagonal / baseline by layer (final)", s.patching.byLayer.map((b) => `L${b.layer} ${fmtNum(b.offDiagonalOverBaseline)}`).join(", ")])
  } else rows.push(["patching", "not run"])
  return rows
}

/** Per-concept rows: final NMSE, loss and TD halfway steps, lag, rate correlation and its p-value. */
export const PER_CONCEPT_HEADER = ["concept", "final NMSE", "loss halfway", "TD halfway", "lag", "rate corr.", "p"] as const

export const perConceptRows = (input: ReportInput): string[][] => {
  const s = input.summary
  const n = Math.max(input.concepts.length, s.finalNmsePerConcept.length)
  return Array.from({ length: n }, (_, i) => {
    const c = s.coupling.perBasis.find((b) => b.basis === i)
    return [conceptName(input.concepts, i), fmtNum(s.finalNmsePerConcept[i]), fmtNum(c?.lossHalfStep), fmtNum(c?.tdHalfStep), fmtNum(c?.lagSteps), fmtNum(c?.rateCorrelation), fmtNum(c?.pValue)]
  })
}
