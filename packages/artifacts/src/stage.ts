import { Effect, Schema } from "effect"
import { createRequire } from "node:module"
import { artifactKey } from "./canonical"
import { decodeParams } from "./decode"
import type { ParamsError, StoreError } from "./errors"
import type { ArtifactRef } from "./manifest"
import { ArtifactStore } from "./store"

/** What a stage's body sees: decoded parameters, committed input artifacts, and the staging directory to write into. */
export interface StageContext<P, In extends Record<string, ArtifactRef>> {
  readonly params: P
  readonly inputs: In
  readonly dir: string
  readonly key: string
}

export interface StageOutput {
  readonly rowCount: number
  readonly meta?: unknown
}

/**
 * A pipeline stage: typed parameters (an Effect Schema), named input artifacts, and a body that writes
 * exactly one artifact of `kind` into the directory it is given. Bump `version` whenever the body's
 * output for the same parameters changes; that changes every downstream key.
 */
export interface Stage<P, PI, In extends Record<string, ArtifactRef>, E, R> {
  readonly name: string
  readonly version: string
  readonly kind: string
  readonly schemaVersion: number
  readonly params: Schema.Schema<P, PI>
  readonly run: (ctx: StageContext<P, In>) => Effect.Effect<StageOutput, E, R>
}

export const defineStage = <P, PI, In extends Record<string, ArtifactRef>, E, R>(
  stage: Stage<P, PI, In, E, R>
): Stage<P, PI, In, E, R> => stage

export interface StageResult {
  readonly ref: ArtifactRef
  readonly cached: boolean
  readonly seconds: number
}

let libs: Record<string, string> | null = null
/** Versions of the libraries whose behaviour shapes artifact bytes (recorded, not hashed). */
export function libraryVersions(): Record<string, string> {
  if (libs) return libs
  const require = createRequire(import.meta.url)
  libs = { node: process.version }
  for (const name of ["effect", "@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-wasm", "hyparquet"]) {
    try {
      libs[name] = (require(`${name}/package.json`) as { version: string }).version
    } catch {
      /* not installed: not recorded */
    }
  }
  return libs
}

/**
 * The key a stage would give its artifact for these raw parameters and inputs, without running it.
 * Parameters are decoded (defaults filled in) and re-encoded before hashing, so an omitted default
 * and the same value written out give the same key.
 */
export const stageKey = <P, PI, In extends Record<string, ArtifactRef>, E, R>(
  stage: Stage<P, PI, In, E, R>,
  rawParams: unknown,
  inputs: In,
  file = `stage ${stage.name}`
) =>
  Effect.gen(function* () {
    const params = yield* decodeParams(stage.params, rawParams, file)
    const encoded = yield* Schema.encode(stage.params)(params).pipe(Effect.orDie)
    const inputKeys = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.key]))
    return { params, encoded, inputKeys, key: artifactKey(stage, encoded, inputKeys) }
  })

/**
 * Run a stage through the store: return the committed artifact when its key exists (a cache hit),
 * otherwise compute it into a staging directory and commit it atomically.
 */
export const runStage = <P, PI, In extends Record<string, ArtifactRef>, E, R>(
  stage: Stage<P, PI, In, E, R>,
  rawParams: unknown,
  inputs: In,
  file?: string
): Effect.Effect<StageResult, E | ParamsError | StoreError, R | ArtifactStore> =>
  Effect.gen(function* () {
    const store = yield* ArtifactStore
    const { params, encoded, inputKeys, key } = yield* stageKey(stage, rawParams, inputs, file)
    const t0 = performance.now()
    const hit = yield* store.lookup(stage.kind, key)
    if (hit) return { ref: hit, cached: true, seconds: (performance.now() - t0) / 1000 }
    const ref = yield* store.commit(stage.kind, key, (dir) =>
      stage.run({ params, inputs, dir, key }).pipe(
        Effect.map((out) => ({
          schemaVersion: stage.schemaVersion,
          stage: { name: stage.name, version: stage.version },
          params: encoded,
          inputs: inputKeys,
          rowCount: out.rowCount,
          createdAt: new Date().toISOString(),
          wallSeconds: (performance.now() - t0) / 1000,
          libraries: libraryVersions(),
          meta: out.meta
        }))
      )
    )
    return { ref, cached: false, seconds: (performance.now() - t0) / 1000 }
  })
