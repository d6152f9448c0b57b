import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { SyntheticConfig } from "./synthetic-config.js"

/**
 * Across the seeds of a synthetic sweep: `seeds.json` and `seeds.md` in `dir`, every seed's headline
 * numbers side by side with their median / min / max and the emergence criteria per seed (the
 * config's `criteria`), read from the reports' `summary.json`. Written through temporary names.
 */
export const summarizeSeeds = (config: SyntheticConfig, reports: readonly { readonly seed: number; readonly dir: string }[], dir: string) =>
  Effect.gen(function* () {
    const { aggregateSeeds, decodeSummaryJson, ReportWriteError, seedAggregateJson, seedAggregateMarkdown } = yield* Effect.promise(() => import("@conceptscope/reporters"))
    const summaries = []
    for (const r of reports) {
      const file = path.join(r.dir, "summary.json")
      const text = yield* Effect.try({ try: () => fs.readFileSync(file, "utf8"), catch: (e) => new ReportWriteError({ file, reason: e instanceof Error ? e.message : String(e) }) })
      summaries.push({ seed: r.seed, summary: yield* decodeSummaryJson(text, file) })
    }
    const agg = aggregateSeeds(config.name, summaries, config.criteria)
    const md = path.join(dir, "seeds.md")
    yield* Effect.try({
      try: () => {
        fs.mkdirSync(dir, { recursive: true })
        for (const [file, text] of [[path.join(dir, "seeds.json"), seedAggregateJson(agg)], [md, seedAggregateMarkdown(agg)]] as const) {
          fs.writeFileSync(`${file}.tmp-${process.pid}`, text)
          fs.renameSync(`${file}.tmp-${process.pid}`, file)
        }
      },
      catch: (e) => new ReportWriteError({ file: path.join(dir, "seeds.json"), reason: e instanceof Error ? e.message : String(e) })
    })
    const td = agg.metrics.find((m) => m.name === "TD final checkpoint")!
    const line = `${summaries.length} seed(s): TD final median ${td.median.toFixed(3)} (min ${td.min.toFixed(3)}, max ${td.max.toFixed(3)}); ${agg.seedsPassingAll} meet every emergence criterion`
    return { path: md, line }
  })
