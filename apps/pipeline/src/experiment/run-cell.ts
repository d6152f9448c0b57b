import { type ArtifactStore, ParamsError, runStage, StageError, type StageResult } from "@conceptscope/artifacts"
import { note } from "@conceptscope/core"
import { Effect } from "effect"
import type { TensorBackend } from "../backend.js"
import { codeVersion, type Fingerprints, fingerprints } from "./code-version.js"
import { type AnyEntry, type Cell, type Experiment, stagesThrough } from "./table.js"

/** What one cell's stages produced, by stage name. */
export interface CellResult {
  readonly seed: number
  readonly label?: string
  readonly results: Readonly<Record<string, StageResult>>
}

/** Any failure of a stage: a tagged error whose message is one line naming the file, the field and the reason. */
export interface CellFailure {
  readonly _tag: string
  readonly message: string
}

const reasonOf = (e: unknown) => (e instanceof Error ? e.message.split("\n")[0] : String(e))

/** An entry's stage made ready for a cell: its parameters from the upstream metadata, its code hash in its version. */
export const prepareEntry = <C>(entry: AnyEntry<C>, cell: Cell<C>, results: Readonly<Record<string, StageResult>>, fp: Fingerprints, file: string) =>
  Effect.gen(function* () {
    const upstream = entry.upstream as readonly AnyEntry<C>[]
    const meta = Object.fromEntries(upstream.map((u) => [u.name, results[u.name].meta]))
    const inputs = Object.fromEntries(upstream.map((u) => [u.name, results[u.name].ref]))
    const params = yield* Effect.try({
      try: () => entry.params(cell, meta as never),
      catch: (e) => new ParamsError({ file, field: `(parameters of stage ${entry.name})`, reason: reasonOf(e) })
    })
    const stage = yield* loadEntry(entry, fp)
    return { stage, params, inputs }
  })

/** An entry's stage definition with the hash of its code folded into its version. */
export const loadEntry = <C>(entry: AnyEntry<C>, fp: Fingerprints) =>
  Effect.gen(function* () {
    const stage = yield* Effect.tryPromise({ try: entry.load, catch: (e) => new StageError({ stage: entry.name, reason: `cannot load: ${reasonOf(e)}` }) })
    const code = yield* Effect.try({ try: () => codeVersion(fp, entry.name, entry.packages, entry.source), catch: (e) => new StageError({ stage: entry.name, reason: reasonOf(e) }) })
    return { ...stage, version: `${stage.version}+${code}` }
  })

/** The code-version fingerprints of this build, as a typed failure when they cannot be read. */
export const loadFingerprints = Effect.try({ try: fingerprints, catch: (e) => new StageError({ stage: "(code versions)", reason: reasonOf(e) }) })

/**
 * Run one cell (one seed of one config) through `until` and the stages it needs, each through the
 * artifact store: a stage's parameters come from its table entry, its version carries the hash of its
 * code, its inputs are its upstream stages' artifacts. A rerun is a chain of cache hits, and a changed
 * parameter recomputes only what depends on it.
 */
export const runCell = <C>(
  experiment: Experiment<C>,
  cell: Cell<C>,
  opts: { readonly until: string; readonly file: string }
): Effect.Effect<CellResult, CellFailure, ArtifactStore | TensorBackend> =>
  Effect.gen(function* () {
    const fp = yield* loadFingerprints
    const wanted = new Set(stagesThrough(experiment, opts.until))
    const results: Record<string, StageResult> = {}
    for (const entry of experiment.entries) {
      if (!wanted.has(entry.name)) continue
      const { stage, params, inputs } = yield* prepareEntry(entry, cell, results, fp, opts.file)
      const result = (yield* runStage(stage, params, inputs, opts.file)) as StageResult
      const which = cell.label ? `${cell.label}, seed ${cell.seed}` : `seed ${cell.seed}`
      note(entry.name, result.cached ? `cache hit (${which}) ${result.ref.key}` : `computed in ${result.seconds.toFixed(1)} s (${which}) ${result.ref.key}`)
      results[entry.name] = result
    }
    return { seed: cell.seed, label: cell.label, results }
  }) as Effect.Effect<CellResult, CellFailure, ArtifactStore | TensorBackend>
