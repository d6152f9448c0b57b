import { ArtifactStore } from "@conceptscope/artifacts"
import { aggregateSeeds, ReportWriteError, renderReportEffect, type SeedAggregate, seedAggregateJson, seedAggregateMarkdown, type Summary } from "@conceptscope/reporters"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { type CellResult, runCell, STAGE_ORDER, type StageName } from "./cell"
import type { Config } from "./config"
import { SweepExecutor } from "./executor"
import { reportInput } from "./report-data"
import { TensorBackend } from "./backend"

export interface SweepOptions {
  readonly config: Config
  readonly file: string
  readonly until: StageName
  readonly outDir: string
}

export interface SweepOutcome {
  readonly cells: CellResult[]
  readonly reports: string[]
  /** seeds.md across the cells (median / min / max and the emergence criteria per seed), when reports were rendered */
  readonly seedsSummary?: string
}

/** Run every cell of the config's grid (one per seed) through `until`, then render each cell's report. */
export const sweep = (opts: SweepOptions) =>
  Effect.gen(function* () {
    const backend = yield* TensorBackend
    const executor = yield* SweepExecutor
    const store = yield* ArtifactStore
    const { config } = opts
    process.stderr.write(`[sweep] ${config.name}: ${config.seeds.length} cell(s), executor ${executor.name}, store ${store.root}\n`)
    const cells = yield* executor.runAll(config.seeds.map((seed) => runCell(config, seed, opts.until, opts.file)))
    const reports: string[] = []
    const summaries: { seed: number; summary: Summary }[] = []
    if (STAGE_ORDER.indexOf(opts.until) < STAGE_ORDER.indexOf("report")) return { cells, reports }
    for (const cell of cells) {
      const timings = Object.entries(cell.results).map(([stage, r]) => ({
        stage,
        seconds: r!.cached ? r!.ref.manifest.wallSeconds : r!.seconds,
        cached: r!.cached
      }))
      const trainMeta = cell.results.train?.ref.manifest.meta as { backend?: string } | undefined
      const input = yield* reportInput({ config, cell, backend: trainMeta?.backend ?? backend.name, timings })
      const dir = path.join(opts.outDir, config.name, `seed-${cell.seed}`)
      const paths = yield* renderReportEffect(input, dir)
      reports.push(paths.htmlPath)
      process.stderr.write(`[report] seed ${cell.seed}: ${paths.htmlPath}\n`)
      summaries.push({ seed: cell.seed, summary: input.summary })
    }
    const agg = aggregateSeeds(config.name, summaries)
    const seedsSummary = yield* writeSeedAggregate(path.join(opts.outDir, config.name), agg)
    const tdFinal = agg.metrics.find((m) => m.name === "TD final checkpoint")!
    process.stderr.write(
      `[report] ${summaries.length} seed(s): TD final median ${tdFinal.median.toFixed(3)} (min ${tdFinal.min.toFixed(3)}, max ${tdFinal.max.toFixed(3)}); ${agg.seedsPassingAll} meet every emergence criterion; ${seedsSummary}\n`
    )
    return { cells, reports, seedsSummary }
  })

/** seeds.json and seeds.md in `dir`, written through temporary names; returns the path of seeds.md. */
const writeSeedAggregate = (dir: string, agg: SeedAggregate) =>
  Effect.try({
    try: () => {
      fs.mkdirSync(dir, { recursive: true })
      const md = path.join(dir, "seeds.md")
      for (const [file, text] of [[path.join(dir, "seeds.json"), seedAggregateJson(agg)], [md, seedAggregateMarkdown(agg)]] as const) {
        fs.writeFileSync(`${file}.tmp-${process.pid}`, text)
        fs.renameSync(`${file}.tmp-${process.pid}`, file)
      }
      return md
    },
    catch: (e) => new ReportWriteError({ file: path.join(dir, "seeds.json"), reason: String(e) })
  })
