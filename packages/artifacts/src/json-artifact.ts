import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { StoreError } from "./errors.js"

/**
 * Small structured side files inside an artifact (e.g. a checkpoint list, an evaluation summary),
 * validated by an Effect Schema on both write and read. Bulk data goes to Parquet instead.
 */
export const writeJson = <A, I>(schema: Schema.Schema<A, I>, dir: string, name: string, value: A) =>
  Effect.gen(function* () {
    const encoded = yield* Schema.encode(schema)(value).pipe(Effect.orDie)
    const file = path.join(dir, name)
    yield* Effect.try({
      try: () => fs.writeFileSync(file, JSON.stringify(encoded, null, 1)),
      catch: (e) => new StoreError({ path: file, reason: String(e) })
    })
  })

export const readJson = <A, I>(schema: Schema.Schema<A, I>, dir: string, name: string) =>
  Effect.gen(function* () {
    const file = path.join(dir, name)
    const raw = yield* Effect.try({
      try: () => JSON.parse(fs.readFileSync(file, "utf8")) as unknown,
      catch: (e) => new StoreError({ path: file, reason: e instanceof Error ? e.message : String(e) })
    })
    return yield* Schema.decodeUnknown(schema)(raw).pipe(
      Effect.mapError((e) => new StoreError({ path: file, reason: e.message.split("\n")[0] }))
    )
  })
