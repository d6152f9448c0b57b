import type { ArtifactRef, Stage } from "@conceptscope/artifacts"
import type { Effect, Schema } from "effect"

/**
 * An experiment is a typed table of stages. Each entry holds one name (the CLI's `--until`, the
 * artifact kind, the stage file `src/stages/<name>.ts` and the Nx target alike), the workspace
 * packages whose code the stage runs, its upstream entries, and a pure `params(cell, upstream)`
 * that maps the cell (config + seed) and the upstream stages' typed metadata to the stage's
 * parameters. The cell runner, the code-version hashes and the Nx targets are all derived from it.
 */

/** The workspace packages (directories under packages/) a stage can run. */
export const PACKAGE_NAMES = [
  "core",
  "artifacts",
  "safetensors",
  "task-generators",
  "kernels",
  "model-runners",
  "activation-store",
  "probes",
  "interventions",
  "finetuners",
  "reporters"
] as const
export type PackageName = (typeof PACKAGE_NAMES)[number]

/**
 * One cell of a sweep: the config and the seed every random choice of the cell flows from; `label`
 * names the cell's grid point when the config sweeps more than seeds (reports then go to
 * `<out>/<config name>/<label>/seed-<seed>/`).
 */
export interface Cell<C> {
  readonly config: C
  readonly seed: number
  readonly label?: string
}

/** Where a cell's report is copied, relative to `<out>/<config name>`. */
export const cellReportDir = (cell: { readonly seed: number; readonly label?: string }): string =>
  cell.label ? `${cell.label}/seed-${cell.seed}` : `seed-${cell.seed}`

/* eslint-disable @typescript-eslint/no-explicit-any */
type SomeStage = Stage<any, any, any, any, any, any, any>
type MetaOfStage<S> = S extends Stage<any, any, any, infer M, any, any, any> ? M : never
type ParamsInOf<S> = S extends Stage<any, infer PI, any, any, any, any, any> ? PI : never
/* eslint-enable @typescript-eslint/no-explicit-any */

export interface StageEntry<C, N extends string, S extends SomeStage, U extends readonly AnyEntry<C>[]> {
  readonly name: N
  /** The workspace packages whose code the stage runs (their own dependencies are followed). */
  readonly packages: readonly PackageName[]
  /** Upstream entries; the stage receives their artifacts as inputs named after them. */
  readonly upstream: U
  /** The stage's parameters from the cell and the upstream metadata: pure, no I/O. */
  readonly params: (cell: Cell<C>, upstream: UpstreamMeta<U>) => ParamsInOf<S>
  /** The stage definition, loaded on first use (so the table itself loads no tensor or figure code). */
  readonly load: () => Promise<S>
  /**
   * For a stage defined outside this app (a table in another project): the absolute path of the file
   * that defines it, hashed into its code version with its packages. Default: `src/stages/<name>.ts`
   * and the app files it imports.
   */
  readonly source?: string
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEntry<C> = StageEntry<C, string, SomeStage, readonly any[]>

export type MetaOf<E> = E extends StageEntry<infer _C, string, infer S, infer _U> ? MetaOfStage<S> : never
export type UpstreamMeta<U extends readonly unknown[]> = { readonly [E in U[number] as E extends { name: infer N extends string } ? N : never]: MetaOf<E> }
export type UpstreamRefs<U extends readonly unknown[]> = { readonly [E in U[number] as E extends { name: infer N extends string } ? N : never]: ArtifactRef }

/**
 * An entry of a table with config type C. The stage's declared inputs must be exactly the upstream
 * entries' names (checked by the compiler through `UpstreamRefs`).
 */
export const stageEntry =
  <C>() =>
  <N extends string, U extends readonly AnyEntry<C>[], S extends Stage<any, any, UpstreamRefs<U>, any, any, any, any>>( // eslint-disable-line @typescript-eslint/no-explicit-any
    e: StageEntry<C, N, S, U>
  ): StageEntry<C, N, S, U> =>
    e

export interface Experiment<C> {
  /** The experiment's name, as a config's `experiment` field gives it. */
  readonly name: string
  /** One line for `--help` and the Nx target descriptions. */
  readonly description: string
  readonly configSchema: Schema.Schema<C, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Stages in an order where every upstream comes first. */
  readonly entries: readonly AnyEntry<C>[]
  /** The sweep grid of a config. */
  readonly cells: (config: C) => Cell<C>[]
  /** The name the store and reports of a config live under. */
  readonly configName: (config: C) => string
  /** The entry whose artifact is the cell's report (copied to `<out>/<config name>/[<label>/]seed-<seed>/`). */
  readonly report: string
  /** The main file of a cell's report (default "report.html"). */
  readonly reportFile?: string
  /**
   * After the cells' reports are in place: a summary across cells written into `dir`
   * (`<out>/<config name>`); returns the path of its main file and one line for the terminal.
   */
  readonly summarize?: (
    config: C,
    reports: readonly { readonly seed: number; readonly label?: string; readonly dir: string }[],
    dir: string
  ) => Effect.Effect<{ readonly path: string; readonly line: string }, { readonly _tag: string; readonly message: string }>
}

const NAME = /^[a-z][a-z0-9-]*$/

/** Check a table's shape: unique, well-formed names; upstream entries listed earlier in the table. */
export function defineExperiment<C>(exp: Experiment<C>): Experiment<C> {
  const seen = new Set<AnyEntry<C>>()
  const names = new Set<string>()
  for (const e of exp.entries) {
    if (!NAME.test(e.name)) throw new Error(`experiment ${exp.name}: stage name "${e.name}" must match ${NAME}`)
    if (names.has(e.name)) throw new Error(`experiment ${exp.name}: two stages named "${e.name}"`)
    for (const u of e.upstream as readonly AnyEntry<C>[])
      if (!seen.has(u)) throw new Error(`experiment ${exp.name}: stage "${e.name}" lists "${u.name}" upstream, which is not an earlier entry of the table`)
    seen.add(e)
    names.add(e.name)
  }
  if (!names.has(exp.report)) throw new Error(`experiment ${exp.name}: report stage "${exp.report}" is not in the table`)
  return exp
}

/** Names of the entries `name` needs (itself and every upstream, transitively), in table order. */
export function stagesThrough<C>(exp: Experiment<C>, name: string): string[] {
  const byName = new Map(exp.entries.map((e) => [e.name, e]))
  const need = new Set<string>()
  const visit = (n: string) => {
    if (need.has(n)) return
    need.add(n)
    for (const u of (byName.get(n)?.upstream ?? []) as readonly AnyEntry<C>[]) visit(u.name)
  }
  visit(name)
  return exp.entries.filter((e) => need.has(e.name)).map((e) => e.name)
}
