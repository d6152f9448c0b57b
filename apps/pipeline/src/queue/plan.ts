import { type ArtifactStore, canonicalJson, lookupStage, sha256Hex, type StageResult } from "@conceptscope/artifacts"
import { Effect, Schema } from "effect"
import { loadEntry, loadFingerprints, prepareEntry } from "../experiment/run-cell.js"
import { type AnyEntry, type Cell, type Experiment, stagesThrough } from "../experiment/table.js"

/**
 * What a queue producer enqueues for one cell, found by a cache-only walk of the cell's stages (nothing
 * runs): every stage the store already holds is `committed`; the others are jobs.
 *
 * A job's id names the artifact it makes. When every upstream artifact is committed the stage's
 * artifact key is computable, and the id is `<stage>.<artifact key>`. Further down, the key depends on
 * upstream metadata that does not exist yet, so the id is `<stage>.r<hash>` of the stage's recipe: its
 * versioned code, the experiment, the encoded config, the cell, and its upstream jobs' ids. A recipe
 * determines its artifact (parameters are a pure function of the cell and upstream metadata, and
 * stages are deterministic), so producers and workers on any machine agree on the ids, and
 * re-enqueueing a sweep adds no job that exists.
 */
export interface PlannedStage {
  readonly stage: string
  readonly jobId: string
  readonly committed: boolean
  /** the stage's version with its code hash, which a worker checks against its own build */
  readonly version: string
  /** the queue it runs on: "model" when it computes with a model, else "cpu" */
  readonly kind: StageKind
}

export interface CellPlan {
  readonly index: number
  readonly seed: number
  readonly label?: string
  /** the cell's stages through `until`, in table order */
  readonly stages: readonly PlannedStage[]
}

export type StageKind = "model" | "cpu"

/** Stages that run a model (forward, training, patching) go to the "model" queue; the rest to "cpu". */
const MODEL_PACKAGES = new Set(["model-runners", "finetuners", "interventions"])
export const stageKind = <C>(entry: AnyEntry<C>): StageKind => (entry.packages.some((p) => MODEL_PACKAGES.has(p)) ? "model" : "cpu")

/** The config as JSON (its schema's encoded form): what a job carries and a recipe hashes. */
export const encodeConfig = <C>(experiment: Experiment<C>, config: C): unknown => Schema.encodeSync(experiment.configSchema)(config)

export const planCell = <C>(
  experiment: Experiment<C>,
  cell: Cell<C>,
  index: number,
  opts: { readonly until: string; readonly file: string }
) =>
  Effect.gen(function* () {
    const fp = yield* loadFingerprints
    const wanted = new Set(stagesThrough(experiment, opts.until))
    const results: Record<string, StageResult> = {}
    const ids: Record<string, string> = {}
    const stages: PlannedStage[] = []
    const config = encodeConfig(experiment, cell.config)
    for (const entry of experiment.entries) {
      if (!wanted.has(entry.name)) continue
      const upstream = (entry.upstream as readonly AnyEntry<C>[]).map((u) => u.name)
      const kind = stageKind(entry)
      if (upstream.every((u) => results[u] !== undefined)) {
        const { stage, params, inputs } = yield* prepareEntry(entry, cell, results, fp, opts.file)
        const { key, hit } = yield* lookupStage(stage, params, inputs, opts.file)
        ids[entry.name] = `${entry.name}.${key}`
        if (hit) results[entry.name] = hit as StageResult
        stages.push({ stage: entry.name, jobId: ids[entry.name], committed: hit !== null, version: stage.version, kind })
        continue
      }
      const { version } = yield* loadEntry(entry, fp)
      const recipe = { experiment: experiment.name, config, seed: cell.seed, label: cell.label ?? null, stage: entry.name, version, upstream: upstream.map((u) => ids[u]) }
      ids[entry.name] = `${entry.name}.r${sha256Hex(canonicalJson(recipe)).slice(0, 40)}`
      stages.push({ stage: entry.name, jobId: ids[entry.name], committed: false, version, kind })
    }
    return { index, seed: cell.seed, label: cell.label, stages } satisfies CellPlan
  }) as Effect.Effect<CellPlan, { readonly _tag: string; readonly message: string }, ArtifactStore>
