import { ArtifactStore } from "@conceptscope/artifacts"
import { renderReportEffect } from "@conceptscope/reporters"
import { Effect } from "effect"
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
    }
    return { cells, reports }
  })
