import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { jsonWithNonFinite, writeAtomic } from "./summary-files.js"
import type { SyntheticConfig } from "./synthetic-config.js"

type Reports = readonly { readonly seed: number; readonly label?: string; readonly dir: string }[]

/**
 * Across the cells of a synthetic sweep, read from the reports' `summary.json`: `seeds.json` and
 * `seeds.md` (every seed's headline numbers side by side with their median / min / max and the emergence
 * criteria per seed) in `dir`, or with a grid in `dir/<label>/` per grid point, plus `diversity.json`,
 * `diversity.md` and the figure `diversity.svg|png` in `dir`. Written through temporary names.
 */
export const summarizeSeeds = (config: SyntheticConfig, reports: Reports, dir: string) =>
  Effect.gen(function* () {
    const r = yield* Effect.promise(() => import("@conceptscope/reporters"))
    const fail = (file: string) => (e: unknown) => new r.ReportWriteError({ file, reason: e instanceof Error ? e.message : String(e) })
    const runs: { seed: number; label: string | undefined; summary: typeof r.Summary.Type }[] = []
    for (const rep of reports) {
      const file = path.join(rep.dir, "summary.json")
      const text = yield* Effect.try({ try: () => fs.readFileSync(file, "utf8"), catch: fail(file) })
      runs.push({ seed: rep.seed, label: rep.label, summary: yield* r.decodeSummaryJson(text, file) })
    }
    const labels = [...new Set(runs.map((x) => x.label))]
    const lines: string[] = []
    for (const label of labels) {
      const mine = runs.filter((x) => x.label === label)
      const agg = r.aggregateSeeds(label ? `${config.name} ${label}` : config.name, mine, config.criteria)
      const at = label ? path.join(dir, label) : dir
      yield* Effect.try({
        try: () => {
          writeAtomic(path.join(at, "seeds.json"), r.seedAggregateJson(agg))
          writeAtomic(path.join(at, "seeds.md"), r.seedAggregateMarkdown(agg))
        },
        catch: fail(path.join(at, "seeds.json"))
      })
      const td = agg.metrics.find((m) => m.name === r.TD_FINAL)!
      lines.push(`${label ? `${label}: ` : ""}${mine.length} seed(s), query TD final median ${td.median.toFixed(3)} (min ${td.min.toFixed(3)}, max ${td.max.toFixed(3)}), ${agg.seedsPassingAll} meet every criterion`)
    }
    if (!config.grid) return { path: path.join(dir, "seeds.md"), line: lines[0] }
    const points = runs.map(({ seed, label, summary: s }) => {
      const fin = s.patching?.checkpoints.find((c) => c.phase === "final")
      return {
        pool: label ?? "",
        seed,
        tdQueryFinal: s.td.queryToken.final,
        tdChance: 1 / s.concepts.length,
        patchOffOverBaseline: fin?.offDiagonalOverBaseline ?? NaN,
        patchSelfOverBaseline: fin?.selfOverBaseline ?? NaN,
        nmseOverLeastSquares: s.nmse.model / s.nmse.leastSquares,
        nmseOverBayesOptimal: s.nmse.model / s.nmse.bayesOptimal
      }
    })
    const spec = r.diversitySpec(points, `${config.name}: concept encoding against task diversity`)!
    const fonts = r.loadFigureFonts()
    const svg = yield* r.specToSvg("diversity", spec, fonts)
    const png = yield* r.svgToPng("diversity", svg.svg, { fonts })
    const md = diversityMarkdown(r.median, config.name, points)
    yield* Effect.try({
      try: () => {
        writeAtomic(path.join(dir, "diversity.json"), jsonWithNonFinite(points) + "\n")
        writeAtomic(path.join(dir, "diversity.md"), md)
        writeAtomic(path.join(dir, "diversity.svg"), svg.svg)
        writeAtomic(path.join(dir, "diversity.png"), png)
      },
      catch: fail(path.join(dir, "diversity.json"))
    })
    return { path: path.join(dir, "diversity.md"), line: lines.join("; ") }
  })

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "n/a")

/** diversity.md: per grid point, the median over seeds (and every seed's value) of each plotted quantity. */
function diversityMarkdown(median: (xs: readonly number[]) => number, name: string, points: readonly { pool: string; seed: number; tdQueryFinal: number; patchOffOverBaseline: number; patchSelfOverBaseline: number; nmseOverLeastSquares: number; nmseOverBayesOptimal: number }[]): string {
  const cols = [
    ["query TD final (held-out)", (p: (typeof points)[number]) => p.tdQueryFinal],
    ["patch off-diag / baseline", (p: (typeof points)[number]) => p.patchOffOverBaseline],
    ["patch self / baseline", (p: (typeof points)[number]) => p.patchSelfOverBaseline],
    ["NMSE model / least squares", (p: (typeof points)[number]) => p.nmseOverLeastSquares],
    ["NMSE model / Bayes-optimal", (p: (typeof points)[number]) => p.nmseOverBayesOptimal]
  ] as const
  const out = [`# ${name}: concept encoding against task diversity`, "", "Median over seeds (each seed's value in brackets).", ""]
  out.push(`| pool | ${cols.map((c) => c[0]).join(" | ")} |`, `|---|${cols.map(() => "---").join("|")}|`)
  for (const pool of [...new Set(points.map((p) => p.pool))]) {
    const mine = points.filter((p) => p.pool === pool)
    out.push(`| ${pool} | ${cols.map(([, f]) => `${fmt(median(mine.map(f)))} (${mine.map((p) => fmt(f(p))).join(", ")})`).join(" | ")} |`)
  }
  out.push("", "Figure: [diversity.png](diversity.png) ([SVG](diversity.svg)). Per-cell reports: `<pool>/seed-<seed>/report.html`.", "")
  return out.join("\n")
}
