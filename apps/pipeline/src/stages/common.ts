import { type ArtifactRef, getColumn, readParquet, StageError, type Table, writeParquet } from "@conceptscope/artifacts"
import { Effect } from "effect"
import * as path from "node:path"

/** Wrap a promise-returning computation of a stage as an Effect failing with a StageError. */
export const stagePromise = <A>(stage: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (e) => new StageError({ stage, reason: e instanceof Error ? e.message : String(e), cause: e })
  })

export const writeTable = (dir: string, name: string, table: Table) => writeParquet(path.join(dir, name), table)

export const readTable = (ref: ArtifactRef, name: string) => readParquet(path.join(ref.dir, name))

/** Distinct sorted values of an int32 column. */
export const distinct = (t: Table, name: string): number[] =>
  Array.from(new Set(getColumn(t, name, "int32").data)).sort((a, b) => a - b)
