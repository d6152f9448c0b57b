import { ArtifactStore, cleanLeftovers, StoreError } from "@conceptscope/artifacts"
import { note } from "@conceptscope/core"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { LoadedConfig } from "./config/load.js"
import type { CellResult } from "./experiment/run-cell.js"
import { cellReportDir, stagesThrough } from "./experiment/table.js"
import { SweepCellsFailed, SweepExecutor } from "./executor.js"

export interface SweepOptions {
  readonly loaded: LoadedConfig
  /** the last stage to run (with everything it needs); default: the experiment's report */
  readonly until?: string
  /** where reports are copied: `<outDir>/<config name>/seed-<seed>/` */
  readonly outDir: string
}

export interface SweepOutcome {
  readonly cells: CellResult[]
  /** report.html of every cell, when the reports ran */
  readonly reports: string[]
  /** the summary across cells (seeds.md), when the reports ran and the experiment writes one */
  readonly summary?: string
}

/** Replace `to` by a copy of `from`: copied to a temporary sibling first, then swapped in. */
const copyDir = (from: string, to: string) =>
  Effect.try({
    try: () => {
      const tmp = `${to}.tmp-${process.pid}`
      fs.rmSync(tmp, { recursive: true, force: true })
      fs.cpSync(from, tmp, { recursive: true, filter: (src) => path.basename(src) !== "manifest.json" })
      fs.rmSync(to, { recursive: true, force: true })
      fs.renameSync(tmp, to)
    },
    catch: (e) => new StoreError({ path: to, reason: e instanceof Error ? e.message.split("\n")[0] : String(e) })
  })

/** Run every cell of the config's grid through `until`; copy each cell's report out and summarise across cells. */
export const sweep = (opts: SweepOptions) =>
  Effect.gen(function* () {
    const { experiment, config, file } = opts.loaded
    const executor = yield* SweepExecutor
    const store = yield* ArtifactStore
    const until = opts.until ?? experiment.report
    const cells = experiment.cells(config)
    const name = experiment.configName(config)
    note("sweep", `${name}: ${cells.length} cell(s) of experiment ${experiment.name}, executor ${executor.name}, store ${store.root}`)
    const left = yield* cleanLeftovers(store.root)
    if (left.removed.length) note("store", `removed ${left.removed.length} leftover(s) of interrupted runs: ${left.removed.map((p) => path.relative(store.root, p)).join(", ")}`)
    if (left.resumable.length) note("store", `${left.resumable.length} interrupted computation(s) kept to resume: ${left.resumable.map((p) => path.relative(store.root, p)).join(", ")}`)
    const { results, failed } = yield* executor.runCells({ experiment, config, cells, until, file })
    // the completed cells' reports are written first; then a failed cell fails the sweep
    const finish = (o: SweepOutcome) => (failed.length > 0 ? Effect.fail(new SweepCellsFailed({ failed, total: cells.length })) : Effect.succeed(o))
    if (!stagesThrough(experiment, until).includes(experiment.report)) return yield* finish({ cells: results, reports: [] })
    const dirs: { seed: number; label?: string; dir: string }[] = []
    for (const cell of results) {
      const dir = path.join(opts.outDir, name, cellReportDir(cell))
      yield* copyDir(cell.results[experiment.report].ref.dir, dir)
      // this run's log beside the report (not part of any artifact): each stage's artifact, whether it
      // came from the cache, this run's seconds and the seconds its computation took
      const log = Object.fromEntries(
        Object.entries(cell.results).map(([stage, r]) => [stage, { artifact: `${r.ref.kind}/${r.ref.key}`, cached: r.cached, seconds: r.seconds, computeSeconds: r.ref.manifest.wallSeconds }])
      )
      yield* Effect.try({
        try: () => fs.writeFileSync(path.join(dir, "stages.json"), JSON.stringify(log, null, 1)),
        catch: (e) => new StoreError({ path: path.join(dir, "stages.json"), reason: e instanceof Error ? e.message.split("\n")[0] : String(e) })
      })
      note("report", `${cell.label ? `${cell.label}, ` : ""}seed ${cell.seed}: ${path.join(dir, experiment.reportFile ?? "report.html")}`)
      dirs.push({ seed: cell.seed, label: cell.label, dir })
    }
    const reports = dirs.map((d) => path.join(d.dir, experiment.reportFile ?? "report.html"))
    if (!experiment.summarize || dirs.length === 0) return yield* finish({ cells: results, reports })
    const summary = yield* experiment.summarize(config, dirs, path.join(opts.outDir, name))
    note("report", `${summary.line}${failed.length > 0 ? ` (${failed.length} failed cell(s) left out)` : ""}; ${summary.path}`)
    return yield* finish({ cells: results, reports, summary: summary.path })
  })
