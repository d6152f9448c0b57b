import { ArtifactStoreLive, decodeParams, type LockOwner } from "@conceptscope/artifacts"
import { note } from "@conceptscope/core"
import { Data, Effect, Layer } from "effect"
import type { BackendPref } from "@conceptscope/model-runners"
import { TensorBackendLive } from "../backend.js"
import { defaultStore } from "../config/load.js"
import { loadEntry, loadFingerprints, runCell } from "../experiment/run-cell.js"
import { EXPERIMENTS } from "../experiments/index.js"
import type { StageJobData, StageJobResult } from "./jobs.js"

/** A job no retry can help: another build's code, a config this build rejects, a cell that does not exist. */
export class JobRejected extends Data.TaggedError("JobRejected")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

/**
 * Run one stage job: rebuild the cell from the job's data, check that this build's code gives the stage
 * the producer's version, and run the cell through the stage. Its upstream stages are in the shared
 * store (the flow ran them first), so they are cache hits; the stage itself computes, or is a cache hit
 * when another worker committed it meanwhile.
 */
export const runStageJob = (data: StageJobData, opts: { readonly store: string | null; readonly backend: BackendPref }) =>
  Effect.gen(function* () {
    const experiment = EXPERIMENTS[data.experiment]
    if (experiment === undefined) return yield* Effect.fail(new JobRejected({ reason: `experiment ${data.experiment} is unknown to this worker's build` }))
    const config = yield* decodeParams(experiment.configSchema, data.config, data.file).pipe(Effect.mapError((e) => new JobRejected({ reason: e.message })))
    const cell = experiment.cells(config)[data.cell]
    if (cell === undefined || cell.seed !== data.seed || (cell.label ?? null) !== data.label)
      return yield* Effect.fail(new JobRejected({ reason: `${data.file}: cell ${data.cell} (seed ${data.seed}${data.label ? `, ${data.label}` : ""}) is not in this build's grid` }))
    const entry = experiment.entries.find((e) => e.name === data.stage)
    if (entry === undefined) return yield* Effect.fail(new JobRejected({ reason: `stage ${data.stage} is not in experiment ${data.experiment}` }))
    const { version } = yield* loadEntry(entry, yield* loadFingerprints)
    if (version !== data.version)
      return yield* Effect.fail(new JobRejected({ reason: `stage ${data.stage}: this worker's code gives version ${version}, the producer's ${data.version}; run workers built from the producer's commit` }))
    // the worker's --store, else the sweep's default for the job's config
    const store = opts.store ?? defaultStore(experiment.configName(config))
    const waiting = (owner: LockOwner, kind: string, key: string) => note("store", `${kind}/${key} is being computed by pid ${owner.pid} on ${owner.host}; waiting for it`)
    const cellResult = yield* runCell(experiment, cell, { until: data.stage, file: data.file }).pipe(
      Effect.provide(Layer.mergeAll(ArtifactStoreLive(store, { onWait: waiting }), TensorBackendLive(opts.backend)))
    )
    const r = cellResult.results[data.stage]
    return { key: r.ref.key, cached: r.cached, seconds: r.seconds } satisfies StageJobResult
  })
