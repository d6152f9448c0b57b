import { Context, Effect, Exit, Layer, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { randomBytes } from "node:crypto"
import { StoreError } from "./errors.js"
import { type ArtifactRef, type Manifest, ManifestSchema } from "./manifest.js"

/**
 * The content-addressed artifact store: `<root>/<kind>/<key>/{manifest.json, data files}`.
 * An artifact is written into `<root>/.staging/<kind>-<key>-<random>/` and renamed into place once
 * complete, so a crash never leaves a half artifact that looks complete; a directory without a
 * readable manifest is never treated as an artifact. If another writer committed the same key
 * first (a retried job), ours is discarded: both hold the same bytes by construction.
 *
 * Long computations keep resumable work in `workDir(kind, key)` (`<root>/.resume/<kind>-<key>/`),
 * which the commit of that key removes, and only then: a kill before the commit resumes from it.
 */
export interface ArtifactStoreService {
  readonly root: string
  readonly dirOf: (kind: string, key: string) => string
  /** Where the computation of (kind, key) keeps resumable work until its artifact is committed. */
  readonly workDir: (kind: string, key: string) => string
  readonly lookup: (kind: string, key: string) => Effect.Effect<ArtifactRef | null, StoreError>
  readonly commit: <E, R>(
    kind: string,
    key: string,
    write: (stagingDir: string) => Effect.Effect<Omit<Manifest, "files" | "key" | "kind">, E, R>
  ) => Effect.Effect<ArtifactRef, E | StoreError, R>
  readonly list: (kind?: string) => Effect.Effect<ArtifactRef[], StoreError>
}

export class ArtifactStore extends Context.Tag("@conceptscope/ArtifactStore")<ArtifactStore, ArtifactStoreService>() {}

const decodeManifest = Schema.decodeUnknownSync(ManifestSchema)

function readManifest(dir: string): ArtifactRef | null {
  const file = path.join(dir, "manifest.json")
  if (!fs.existsSync(file)) return null
  const manifest = decodeManifest(JSON.parse(fs.readFileSync(file, "utf8")))
  return { kind: manifest.kind, key: manifest.key, dir, manifest }
}

const storeTry = <A>(p: string, f: () => A) =>
  Effect.try({ try: f, catch: (e) => new StoreError({ path: p, reason: e instanceof Error ? e.message : String(e) }) })

function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name
    if (e.isDirectory()) out.push(...listFiles(path.join(dir, e.name), rel))
    else out.push(rel)
  }
  return out.sort()
}

export function makeArtifactStore(root: string): ArtifactStoreService {
  const absRoot = path.resolve(root)
  const dirOf = (kind: string, key: string) => path.join(absRoot, kind, key)
  const workDir = (kind: string, key: string) => path.join(absRoot, ".resume", `${kind}-${key}`)
  const lookup = (kind: string, key: string) => storeTry(dirOf(kind, key), () => readManifest(dirOf(kind, key)))
  const commit: ArtifactStoreService["commit"] = (kind, key, write) =>
    Effect.gen(function* () {
      const existing = yield* lookup(kind, key)
      if (existing) return existing
      const staging = path.join(absRoot, ".staging", `${kind}-${key}-${randomBytes(4).toString("hex")}`)
      yield* storeTry(staging, () => fs.mkdirSync(staging, { recursive: true }))
      const body = yield* write(staging).pipe(
        // On failure or interruption the staging directory goes; on success it is renamed below.
        Effect.onExit((exit) =>
          Exit.isFailure(exit) ? Effect.sync(() => fs.rmSync(staging, { recursive: true, force: true })) : Effect.void
        )
      )
      const manifest: Manifest = { ...body, kind, key, files: [] }
      const final = dirOf(kind, key)
      const ref = yield* storeTry(final, () => {
        const files = listFiles(staging).filter((f) => f !== "manifest.json")
        fs.writeFileSync(path.join(staging, "manifest.json"), JSON.stringify({ ...manifest, files }, null, 2))
        fs.mkdirSync(path.dirname(final), { recursive: true })
        try {
          fs.renameSync(staging, final)
        } catch (e) {
          // Lost a race against an identical writer: keep theirs.
          fs.rmSync(staging, { recursive: true, force: true })
          const theirs = readManifest(final)
          if (!theirs) throw e
          return theirs
        }
        return { kind, key, dir: final, manifest: { ...manifest, files } }
      })
      // the work is committed: its resumable state has served its purpose
      yield* storeTry(workDir(kind, key), () => fs.rmSync(workDir(kind, key), { recursive: true, force: true }))
      return ref
    })
  const list = (kind?: string) =>
    storeTry(absRoot, () => {
      if (!fs.existsSync(absRoot)) return []
      const kinds = kind ? [kind] : fs.readdirSync(absRoot).filter((k) => !k.startsWith("."))
      const refs: ArtifactRef[] = []
      for (const k of kinds) {
        const kd = path.join(absRoot, k)
        if (!fs.existsSync(kd) || !fs.statSync(kd).isDirectory()) continue
        for (const key of fs.readdirSync(kd)) {
          const ref = readManifest(path.join(kd, key))
          if (ref) refs.push(ref)
        }
      }
      return refs
    })
  return { root: absRoot, dirOf, workDir, lookup, commit, list }
}

/** A Layer providing the store rooted at `root`. */
export const ArtifactStoreLive = (root: string) => Layer.succeed(ArtifactStore, makeArtifactStore(root))
