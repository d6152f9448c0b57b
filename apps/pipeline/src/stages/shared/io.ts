import { type ArtifactRef, getColumn, readParquet, type RecordSpec, recordsFromTable, StageError, StoreError, type Table, writeParquet } from "@conceptscope/artifacts"
import { Effect } from "effect"
import * as path from "node:path"

/** A promise-returning computation of a stage, as an Effect failing with a StageError naming the stage. */
export const stagePromise = <A>(stage: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (e) => new StageError({ stage, reason: e instanceof Error ? e.message.split("\n")[0] : String(e), cause: e })
  })

/** Synchronous work of a stage (file system calls, plain code that may throw), failing with a StageError. */
export const stageTry = <A>(stage: string, f: () => A) =>
  Effect.try({
    try: f,
    catch: (e) => new StageError({ stage, reason: e instanceof Error ? e.message.split("\n")[0] : String(e), cause: e })
  })

export const writeTable = (dir: string, name: string, table: Table) => writeParquet(path.join(dir, name), table)

/** Read the table `name` of an artifact and decode it; a missing or mistyped column fails as a StoreError naming the file. */
export const readArtifactTable = <A>(ref: ArtifactRef, name: string, decode: (table: Table, file: string) => A) => {
  const file = path.join(ref.dir, name)
  return readParquet(file).pipe(
    Effect.flatMap((t) =>
      Effect.try({
        try: () => decode(t, file),
        catch: (e) => new StoreError({ path: file, reason: e instanceof Error ? e.message.split("\n")[0] : String(e) })
      })
    )
  )
}

/** The plain value a RecordSpec column type reads back as. */
type ValueOf<T> = T extends "string" ? string : T extends "bool" ? boolean : T extends { vector: number } ? number[] : number
export type RecordOf<S extends RecordSpec> = { readonly [K in keyof S]: ValueOf<S[K]> }

/** Read the table `name` of an artifact as records, checking that every column of `spec` is there with its type. */
export const readRecords = <S extends RecordSpec>(ref: ArtifactRef, name: string, spec: S) =>
  readArtifactTable(ref, name, (t, file) => {
    for (const [col, type] of Object.entries(spec)) getColumn(t, col, typeof type === "object" ? "vector" : type, file)
    return recordsFromTable(t) as unknown as RecordOf<S>[]
  })
