import { crashPoint } from "@conceptscope/core"
import { Context, Effect, Exit, Layer, Schema } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { StoreError } from "./errors.js"
import { mkdirp } from "./mkdirp.js"
import { checkFiles, fileEntries } from "./integrity.js"
import { acquireLock, type HeldLock, type LockOptions, type LockOwner } from "./key-lock.js"
import { type ArtifactRef, type Manifest, ManifestSchema } from "./manifest.js"

/**
 * The content-addressed artifact store: `<root>/<kind>/<key>/{manifest.json, data files}`.
 *
 * Commit protocol, one owner per key: the computation of (kind, key) holds the key's lock
 * (`<root>/.locks/<kind>-<key>.lock`, see key-lock.ts) from before it looks for the artifact a second
 * time until after the commit, so two processes (or two fibers) never compute one key at once: the
 * second waits, then finds the artifact. The owner removes what dead owners left for that key, writes
 * into `<root>/.staging/<kind>-<key>-<token>/`, records every file's size and xxhash64 in
 * `manifest.json`, and renames the directory into place: the commit is that rename, the last step.
 * Resumable work lives in `workDir(kind, key)` (`<root>/.resume/<kind>-<key>/`), under the same lock,
 * and the commit retires it. A directory without a readable manifest is never treated as an artifact.
 *
 * Reads are checked: a cache hit checks every file's size; `verify` also checks the hashes and that no
 * file outside the manifest is there.
 */
export interface ArtifactStoreService {
  readonly root: string
  readonly dirOf: (kind: string, key: string) => string
  /** Where the computation of (kind, key) keeps resumable work until its artifact is committed. */
  readonly workDir: (kind: string, key: string) => string
  /** The committed artifact, its files' sizes checked; null when there is none. A damaged one is a StoreError naming the file. */
  readonly lookup: (kind: string, key: string) => Effect.Effect<ArtifactRef | null, StoreError>
  /**
   * The artifact of (kind, key): the committed one if it exists (computed: false), else computed by
   * `write` into a staging directory under the key's lock and committed (computed: true).
   */
  readonly commit: <E, R>(
    kind: string,
    key: string,
    write: (stagingDir: string) => Effect.Effect<Omit<Manifest, "files" | "key" | "kind">, E, R>
  ) => Effect.Effect<{ readonly ref: ArtifactRef; readonly computed: boolean }, E | StoreError, R>
  /** Sizes always; hashes and stray files when `hashes`. A problem is a StoreError naming the file. */
  readonly verify: (ref: ArtifactRef, opts: { readonly hashes: boolean }) => Effect.Effect<void, StoreError>
  readonly list: (kind?: string) => Effect.Effect<ArtifactRef[], StoreError>
}

export class ArtifactStore extends Context.Tag("@conceptscope/ArtifactStore")<ArtifactStore, ArtifactStoreService>() {}

export interface StoreOptions extends Omit<LockOptions, "onWait"> {
  /** called when a key's lock is held by another owner and this process starts to wait for it */
  readonly onWait?: (owner: LockOwner, kind: string, key: string) => void
}

const decodeManifest = Schema.decodeUnknownEither(ManifestSchema)

const reasonOf = (e: unknown) => {
  const err = e as NodeJS.ErrnoException
  if (err?.code && err.message) return `${err.code}: ${err.message.split("\n")[0]}`
  return e instanceof Error ? e.message.split("\n")[0] : String(e)
}

const storeTry = <A>(p: string, f: () => A) => Effect.try({ try: f, catch: (e) => (e instanceof StoreError ? e : new StoreError({ path: p, reason: reasonOf(e) })) })

/** The manifest of an artifact directory; null when there is no directory; a StoreError when it is damaged. */
export function readManifest(dir: string): ArtifactRef | null {
  if (!fs.existsSync(dir)) return null
  const file = path.join(dir, "manifest.json")
  let raw: unknown
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"))
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT"
    throw new StoreError({ path: file, reason: `${missing ? "missing" : "unreadable"}: a damaged artifact (conceptscope verify --repair moves it aside)` })
  }
  const m = decodeManifest(raw)
  if (m._tag === "Left") throw new StoreError({ path: file, reason: `not a manifest: ${m.left.message.split("\n")[0]} (conceptscope verify --repair moves it aside)` })
  return { kind: m.right.kind, key: m.right.key, dir, manifest: m.right }
}

export function makeArtifactStore(root: string, opts: StoreOptions = {}): ArtifactStoreService {
  const absRoot = path.resolve(root)
  const dirOf = (kind: string, key: string) => path.join(absRoot, kind, key)
  const workDir = (kind: string, key: string) => path.join(absRoot, ".resume", `${kind}-${key}`)
  const lockFile = (kind: string, key: string) => path.join(absRoot, ".locks", `${kind}-${key}.lock`)
  const stagingDir = path.join(absRoot, ".staging")

  const verify: ArtifactStoreService["verify"] = (ref, { hashes }) =>
    Effect.tryPromise({ try: () => checkFiles(ref.dir, ref.manifest.files, hashes), catch: (e) => new StoreError({ path: ref.dir, reason: reasonOf(e) }) }).pipe(
      Effect.flatMap((problems) =>
        problems.length === 0
          ? Effect.void
          : Effect.fail(new StoreError({ path: problems[0].file, reason: `${problems[0].reason} (conceptscope verify --repair moves the artifact aside)` }))
      )
    )

  const lookup = (kind: string, key: string) =>
    storeTry(dirOf(kind, key), () => readManifest(dirOf(kind, key))).pipe(
      Effect.tap((ref) => (ref ? verify(ref, { hashes: false }) : Effect.void))
    )

  /** Write, hash, name and rename a staged artifact; the caller holds the key's lock. */
  const computeAndCommit = <E, R>(kind: string, key: string, lock: HeldLock, write: (dir: string) => Effect.Effect<Omit<Manifest, "files" | "key" | "kind">, E, R>) =>
    Effect.gen(function* () {
      // what dead owners of this key left: their staging directories (we hold the lock, so no one else is writing one)
      yield* storeTry(stagingDir, () => {
        if (!fs.existsSync(stagingDir)) return
        for (const d of fs.readdirSync(stagingDir)) if (d.startsWith(`${kind}-${key}-`)) fs.rmSync(path.join(stagingDir, d), { recursive: true, force: true })
      })
      const staging = path.join(stagingDir, `${kind}-${key}-${randomBytes(4).toString("hex")}`)
      yield* storeTry(staging, () => mkdirp(staging))
      const body = yield* write(staging).pipe(
        // on failure or interruption the staging directory goes; on success it is renamed below
        Effect.onExit((exit) => (Exit.isFailure(exit) ? Effect.sync(() => fs.rmSync(staging, { recursive: true, force: true })) : Effect.void))
      )
      const files = yield* Effect.tryPromise({ try: () => fileEntries(staging), catch: (e) => new StoreError({ path: staging, reason: reasonOf(e) }) })
      const manifest: Manifest = { ...body, kind, key, files }
      const final = dirOf(kind, key)
      yield* storeTry(final, () => {
        fs.writeFileSync(path.join(staging, "manifest.json"), JSON.stringify(manifest, null, 2))
        mkdirp(path.dirname(final))
        // a lock taken from us (its heartbeat went stale) means another owner may be writing this key
        if (!lock.held()) throw new StoreError({ path: lock.file, reason: "lost the key's lock before the commit; run again" })
        crashPoint("store-before-commit")
        fs.renameSync(staging, final)
        crashPoint("store-after-commit")
        // the work is committed: its resumable state has served its purpose
        fs.rmSync(workDir(kind, key), { recursive: true, force: true })
      })
      return { kind, key, dir: final, manifest } satisfies ArtifactRef
    })

  const commit: ArtifactStoreService["commit"] = (kind, key, write) =>
    Effect.gen(function* () {
      const existing = yield* lookup(kind, key)
      if (existing) return { ref: existing, computed: false }
      return yield* Effect.scoped(
        Effect.gen(function* () {
          const lock = yield* acquireLock(lockFile(kind, key), { ...opts, onWait: (owner) => opts.onWait?.(owner, kind, key) })
          const again = yield* lookup(kind, key)
          if (again) return { ref: again, computed: false }
          return { ref: yield* computeAndCommit(kind, key, lock, write), computed: true }
        })
      )
    })

  const list = (kind?: string) =>
    storeTry(absRoot, () => {
      if (!fs.existsSync(absRoot)) return []
      const kinds = kind ? [kind] : fs.readdirSync(absRoot).filter((k) => !k.startsWith("."))
      const refs: ArtifactRef[] = []
      for (const k of kinds) {
        const kd = path.join(absRoot, k)
        if (!fs.existsSync(kd) || !fs.statSync(kd).isDirectory()) continue
        for (const key of fs.readdirSync(kd).sort()) {
          try {
            const ref = readManifest(path.join(kd, key))
            if (ref) refs.push(ref)
          } catch {
            /* damaged: not an artifact (scanStore reports it) */
          }
        }
      }
      return refs
    })
  return { root: absRoot, dirOf, workDir, lookup, commit, verify, list }
}

/** A Layer providing the store rooted at `root`. */
export const ArtifactStoreLive = (root: string, opts: StoreOptions = {}) => Layer.succeed(ArtifactStore, makeArtifactStore(root, opts))
