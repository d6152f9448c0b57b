import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { StoreError } from "./errors.js"
import { checkFiles } from "./integrity.js"
import { tryLock } from "./key-lock.js"
import { readManifest } from "./store.js"

/**
 * Keeping a store sound: `verifyStore` checks every artifact (manifest, every file's size and xxhash64,
 * no stray files) and, with `repair`, moves a broken one to `<root>/.broken/` so that it is recomputed;
 * `cleanLeftovers` removes what dead owners left (staging directories, lock files, work directories of
 * keys that are committed) and names the work directories it keeps because they can still be resumed.
 */
export interface StoreProblem {
  readonly dir: string
  readonly file: string
  readonly reason: string
  /** where `repair` moved the artifact */
  readonly movedTo?: string
}

const HEX = /^[0-9a-f]{32}$/

/** The artifact directories of a store (`<root>/<kind>/<key>`), damaged ones included. */
function artifactDirs(root: string): string[] {
  if (!fs.existsSync(root)) return []
  const out: string[] = []
  for (const kind of fs.readdirSync(root).sort()) {
    const kd = path.join(root, kind)
    if (kind.startsWith(".") || !fs.statSync(kd).isDirectory()) continue
    for (const key of fs.readdirSync(kd).sort()) if (HEX.test(key)) out.push(path.join(kd, key))
  }
  return out
}

export const verifyStore = (root: string, opts: { readonly repair?: boolean } = {}) =>
  Effect.gen(function* () {
    const abs = path.resolve(root)
    const problems: StoreProblem[] = []
    let checked = 0
    for (const dir of artifactDirs(abs)) {
      checked++
      let found: { file: string; reason: string } | undefined
      try {
        const ref = readManifest(dir)!
        const p = yield* Effect.promise(() => checkFiles(dir, ref.manifest.files, true))
        if (p.length) found = p[0]
      } catch (e) {
        found = e instanceof StoreError ? { file: e.path, reason: e.reason } : { file: dir, reason: String(e) }
      }
      if (!found) continue
      let movedTo: string | undefined
      if (opts.repair) {
        movedTo = path.join(abs, ".broken", `${path.basename(path.dirname(dir))}-${path.basename(dir)}-${Date.now()}`)
        yield* Effect.try({
          try: () => {
            fs.mkdirSync(path.dirname(movedTo!), { recursive: true })
            fs.renameSync(dir, movedTo!)
          },
          catch: (e) => new StoreError({ path: dir, reason: `cannot move aside: ${e instanceof Error ? e.message : String(e)}` })
        })
      }
      problems.push({ dir, ...found, movedTo })
    }
    return { checked, problems }
  })

/** `<kind>-<key>[-<token>]` of a staging or work directory, or a lock file name. */
const keyOf = (name: string): { kind: string; key: string } | null => {
  const m = /^(.+)-([0-9a-f]{32})(?:-[0-9a-f]+)?(?:\.lock)?$/.exec(name)
  return m ? { kind: m[1], key: m[2] } : null
}

/**
 * Remove what dead owners left: staging directories and lock files of keys no live process holds,
 * and work directories of keys already committed. Returns what it removed and the work directories it
 * kept (resumable: the next computation of their key continues from them).
 */
export const cleanLeftovers = (root: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const abs = path.resolve(root)
      const removed: string[] = []
      const resumable: string[] = []
      const lockOf = (k: { kind: string; key: string }) => path.join(abs, ".locks", `${k.kind}-${k.key}.lock`)
      const staging = path.join(abs, ".staging")
      for (const name of fs.existsSync(staging) ? fs.readdirSync(staging) : []) {
        const k = keyOf(name)
        // a staging directory whose key's lock we can take belongs to no live owner
        if (k && !(yield* tryLock(lockOf(k)))) continue
        fs.rmSync(path.join(staging, name), { recursive: true, force: true })
        removed.push(path.join(staging, name))
      }
      const resume = path.join(abs, ".resume")
      for (const name of fs.existsSync(resume) ? fs.readdirSync(resume) : []) {
        const k = keyOf(name)
        if (k && fs.existsSync(path.join(abs, k.kind, k.key, "manifest.json"))) {
          fs.rmSync(path.join(resume, name), { recursive: true, force: true })
          removed.push(path.join(resume, name))
        } else resumable.push(path.join(resume, name))
      }
      const locks = path.join(abs, ".locks")
      for (const name of fs.existsSync(locks) ? fs.readdirSync(locks) : []) {
        const file = path.join(locks, name)
        // a lock of a dead owner (tryLock breaks it, and releasing removes it); aside copies of broken ones
        if (name.endsWith(".lock") ? !(yield* tryLock(file)) : !name.includes(".broken-")) continue
        fs.rmSync(file, { force: true })
        removed.push(file)
      }
      return { removed, resumable }
    })
  )
