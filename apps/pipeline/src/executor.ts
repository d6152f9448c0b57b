import type { ArtifactStore } from "@conceptscope/artifacts"
import { Context, Data, Effect, Layer } from "effect"
import type { TensorBackend } from "./backend.js"
import { type CellFailure, type CellResult, runCell } from "./experiment/run-cell.js"
import type { Cell, Experiment } from "./experiment/table.js"

/** The cells of one sweep, through `until`: data, so an executor can ship it to other machines. */
export interface SweepRun<C> {
  readonly experiment: Experiment<C>
  /** the sweep's config (its cells are experiment.cells(config)) */
  readonly config: C
  readonly cells: readonly Cell<C>[]
  readonly until: string
  /** the config file, as errors name it */
  readonly file: string
}

/** A cell that failed for good under an executor that keeps going: its first failed stage and why. */
export interface FailedCell {
  readonly seed: number
  readonly label?: string
  readonly stage: string
  readonly error: string
}

export interface SweepCells {
  /** the cells that completed, each with its stages' artifacts */
  readonly results: CellResult[]
  readonly failed: FailedCell[]
}

/**
 * Runs the cells of a sweep. The default runs them in this process with bounded concurrency and stops
 * at the first failure; the BullMQ executor (queue/bullmq-executor.ts) puts every stage on a job queue
 * whose job id names its artifact, lets workers on other machines run them, and keeps going when a cell
 * fails. Stages commit their artifacts atomically, so a retried job is a cache hit or identical bytes.
 */
export interface SweepExecutorService {
  readonly name: string
  readonly runCells: <C>(run: SweepRun<C>) => Effect.Effect<SweepCells, CellFailure, ArtifactStore | TensorBackend>
}

export class SweepExecutor extends Context.Tag("@conceptscope/SweepExecutor")<SweepExecutor, SweepExecutorService>() {}

/** Some cells of a sweep failed (their reports are missing; the others' were written). */
export class SweepCellsFailed extends Data.TaggedError("SweepCellsFailed")<{ readonly failed: readonly FailedCell[]; readonly total: number }> {
  override get message() {
    const which = this.failed.map((f) => `${f.label ? `${f.label}, ` : ""}seed ${f.seed} at ${f.stage}: ${f.error}`)
    return `${this.failed.length} of ${this.total} cell(s) failed: ${which.join("; ")}`
  }
}

/**
 * In-process executor. Concurrency 1 by default: the tensor backends here (wasm, cpu) compute on the
 * JS thread, so parallel cells in one process only interleave; raise it for IO-bound stages.
 */
export const InProcessExecutor = (concurrency = 1) =>
  Layer.succeed(SweepExecutor, {
    name: `in-process (concurrency ${concurrency})`,
    runCells: (run) =>
      Effect.map(
        Effect.forEach(run.cells, (cell) => runCell(run.experiment, cell, { until: run.until, file: run.file }), { concurrency }),
        (results) => ({ results, failed: [] })
      )
  })
