import { Cause, Effect, Schema } from "effect"
import { createRequire } from "node:module"
import { artifactKey } from "./canonical.js"
import { decodeParams } from "./decode.js"
import { ParamsError, StageError, type StoreError } from "./errors.js"
import type { ArtifactRef } from "./manifest.js"
import { ArtifactStore } from "./store.js"

/** What a stage's body sees: decoded parameters, committed input artifacts, and the staging directory to write into. */
export interface StageContext<P, In extends Record<string, ArtifactRef>> {
  readonly params: P
  readonly inputs: In
  readonly dir: string
  readonly key: string
  /** Where resumable work may be kept until the artifact is committed (removed by the commit). */
  readonly workDir: string
}

/** What a stage's body returns besides its files: a row count and typed metadata, stored in the manifest. */
export interface StageOutput<M> {
  readonly rowCount: number
  readonly meta: M
}

/**
 * A pipeline stage: typed parameters (an Effect Schema), named input artifacts, and a body that writes
 * exactly one artifact into the directory it is given. The artifact's kind is the stage's name.
 * `meta` is a Schema for the small typed summary the body returns (stored in `manifest.json` and
 * decoded again on a cache hit), so later stages can derive their parameters from it without reading
 * data files. Bump `version` whenever the body's output for the same parameters changes.
 */
export interface Stage<P, PI, In extends Record<string, ArtifactRef>, M, MI, E, R> {
  readonly name: string
  readonly version: string
  readonly schemaVersion: number
  readonly params: Schema.Schema<P, PI>
  readonly meta: Schema.Schema<M, MI>
  readonly run: (ctx: StageContext<P, In>) => Effect.Effect<StageOutput<M>, E, R>
}

/** Any stage, whatever its types (for registries and tables). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStage = Stage<any, any, any, any, any, any, any>

export const defineStage = <P, PI, In extends Record<string, ArtifactRef>, M, MI, E, R>(
  stage: Stage<P, PI, In, M, MI, E, R>
): Stage<P, PI, In, M, MI, E, R> => stage

/** No metadata. */
export const NoMeta = Schema.Struct({})

export interface StageResult<M = unknown> {
  readonly ref: ArtifactRef
  readonly meta: M
  readonly cached: boolean
  readonly seconds: number
}

/** Input artifacts whose file hashes this process has checked. */
const hashed = new Set<string>()

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
export const stageKey = <P, PI, In extends Record<string, ArtifactRef>>(
  stage: { readonly name: string; readonly version: string; readonly params: Schema.Schema<P, PI> },
  rawParams: unknown,
  inputs: In,
  file = `stage ${stage.name}`
) =>
  Effect.gen(function* () {
    const params = yield* decodeParams(stage.params, rawParams, file)
    const encoded = yield* Schema.encode(stage.params)(params).pipe(
      Effect.mapError((e) => new ParamsError({ file, field: "(params)", reason: e.message.split("\n")[0] }))
    )
    const inputKeys = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.key]))
    return { params, encoded, inputKeys, key: artifactKey(stage, encoded, inputKeys) }
  })

const decodeMeta = <M, MI>(stage: { name: string; meta: Schema.Schema<M, MI> }, ref: ArtifactRef) =>
  Schema.decodeUnknown(stage.meta)(ref.manifest.meta ?? {}).pipe(
    Effect.mapError(
      (e) => new StageError({ stage: stage.name, reason: `${ref.dir}/manifest.json: meta: ${e.message.split("\n")[0]}` })
    )
  )

/** A defect (an exception thrown by plain code inside a body) becomes a StageError naming the stage. */
const typedDefects = <A, E, R>(name: string, body: Effect.Effect<A, E, R>): Effect.Effect<A, E | StageError, R> =>
  Effect.catchAllDefect(body, (defect) => {
    const reason = defect instanceof Error ? defect.message : String(defect)
    return Effect.fail(new StageError({ stage: name, reason: reason.split("\n")[0], cause: Cause.die(defect) }))
  })

/**
 * Run a stage through the store: return the committed artifact when its key exists (a cache hit),
 * otherwise compute it into a staging directory and commit it atomically. Failures are typed: bad
 * parameters are a ParamsError, store trouble a StoreError, the body's own failures whatever it
 * declares, and anything the body throws a StageError.
 */
export const runStage = <P, PI, In extends Record<string, ArtifactRef>, M, MI, E, R>(
  stage: Stage<P, PI, In, M, MI, E, R>,
  rawParams: unknown,
  inputs: In,
  file?: string
): Effect.Effect<StageResult<M>, E | ParamsError | StoreError | StageError, R | ArtifactStore> =>
  Effect.gen(function* () {
    const store = yield* ArtifactStore
    const { params, encoded, inputKeys, key } = yield* stageKey(stage, rawParams, inputs, file)
    const t0 = performance.now()
    const hit = yield* store.lookup(stage.name, key)
    if (hit) {
      const meta = yield* decodeMeta(stage, hit)
      return { ref: hit, meta, cached: true, seconds: (performance.now() - t0) / 1000 }
    }
    const { ref, computed } = yield* store.commit(stage.name, key, (dir) =>
      Effect.gen(function* () {
        // the inputs this body reads: sizes always, hashes once per process
        for (const input of Object.values(inputs)) {
          yield* store.verify(input, { hashes: !hashed.has(input.dir) })
          hashed.add(input.dir)
        }
        const t1 = performance.now()
        const out = yield* typedDefects(stage.name, Effect.suspend(() => stage.run({ params, inputs, dir, key, workDir: store.workDir(stage.name, key) })))
        const encodedMeta = yield* Schema.encode(stage.meta)(out.meta).pipe(
          Effect.mapError((e) => new StageError({ stage: stage.name, reason: `meta: ${e.message.split("\n")[0]}` }))
        )
        return {
          schemaVersion: stage.schemaVersion,
          stage: { name: stage.name, version: stage.version },
          params: encoded,
          inputs: inputKeys,
          rowCount: out.rowCount,
          createdAt: new Date().toISOString(),
          wallSeconds: (performance.now() - t1) / 1000,
          libraries: libraryVersions(),
          meta: encodedMeta
        }
      })
    )
    // decoded from the committed manifest: ours, or that of a writer who committed the same key first
    const meta = yield* decodeMeta(stage, ref)
    return { ref, meta, cached: !computed, seconds: (performance.now() - t0) / 1000 }
  })

/**
 * The artifact a stage would give for these parameters and inputs, and whether the store already holds
 * it, without running anything (a planner's cache-only look: a queue producer enqueues only misses).
 */
export const lookupStage = <P, PI, In extends Record<string, ArtifactRef>, M, MI, E, R>(
  stage: Stage<P, PI, In, M, MI, E, R>,
  rawParams: unknown,
  inputs: In,
  file?: string
): Effect.Effect<{ readonly key: string; readonly hit: StageResult<M> | null }, ParamsError | StoreError | StageError, ArtifactStore> =>
  Effect.gen(function* () {
    const store = yield* ArtifactStore
    const { key } = yield* stageKey(stage, rawParams, inputs, file)
    const ref = yield* store.lookup(stage.name, key)
    if (!ref) return { key, hit: null }
    return { key, hit: { ref, meta: yield* decodeMeta(stage, ref), cached: true, seconds: 0 } }
  })
