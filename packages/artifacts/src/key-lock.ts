import { Effect, type Scope } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { StoreError } from "./errors.js"
import { mkdirp } from "./mkdirp.js"

/**
 * One owner per artifact key: a lock file created exclusively (`open(..., "wx")`, atomic on local and
 * NFS v3+ file systems) holding its owner's pid, host and a random token. The owner refreshes the file's
 * mtime (a heartbeat) while it holds it. A lock is stale when its owner is a process of this host that no
 * longer exists, or, for another host, when its heartbeat is older than `staleMs`; a stale lock is
 * broken by renaming it aside (only one contender wins the rename) and checking that what was renamed is
 * the stale lock that was read, putting it back otherwise. The holder checks on every heartbeat that the
 * file still carries its token, so a lock that was taken from it is noticed.
 */
export interface LockOwner {
  readonly pid: number
  readonly host: string
  readonly token: string
  readonly since: string
}

export interface LockOptions {
  /** another host's lock counts as abandoned after this long without a heartbeat (default 60 s) */
  readonly staleMs?: number
  /** heartbeat period (default 2 s) */
  readonly heartbeatMs?: number
  /** how often a waiter looks again (default 100 ms) */
  readonly pollMs?: number
  /** called once when the lock is held by someone else and this call starts to wait */
  readonly onWait?: (owner: LockOwner) => void
}

export interface HeldLock {
  readonly file: string
  readonly token: string
  /** false once the lock file no longer carries this holder's token */
  readonly held: () => boolean
}

const readOwner = (file: string): { owner: LockOwner | null; mtimeMs: number } | null => {
  try {
    const stat = fs.statSync(file)
    try {
      return { owner: JSON.parse(fs.readFileSync(file, "utf8")) as LockOwner, mtimeMs: stat.mtimeMs }
    } catch {
      return { owner: null, mtimeMs: stat.mtimeMs } // being written, or cut short by a crash
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null
    throw e
  }
}

/** Whether a process of this host is running (a zombie, killed but not yet reaped by its parent, is not). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
  try {
    // Linux: the state field follows the parenthesised command name
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return true
  }
}

/** Whether a lock read from disk is abandoned. */
export function isStale(found: { owner: LockOwner | null; mtimeMs: number }, staleMs: number, now = Date.now()): boolean {
  const { owner, mtimeMs } = found
  if (owner && owner.host === os.hostname()) return !alive(owner.pid)
  return now - mtimeMs > staleMs
}

/** Try once: create the lock, or break it when stale and create it. Null when a live owner holds it. */
function tryCreate(file: string, me: LockOwner, staleMs: number): { held: true } | { held: false; owner: LockOwner | null } {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, "wx")
      try {
        fs.writeSync(fd, JSON.stringify(me))
      } finally {
        fs.closeSync(fd)
      }
      return { held: true }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
    }
    const found = readOwner(file)
    if (!found) continue // released meanwhile
    if (!isStale(found, staleMs)) return { held: false, owner: found.owner }
    const aside = `${file}.broken-${randomBytes(4).toString("hex")}`
    try {
      fs.renameSync(file, aside)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue
      throw e
    }
    const moved = readOwner(aside)
    if (found.owner && moved?.owner && moved.owner.token !== found.owner.token) {
      // took a fresh lock of someone who broke the stale one first: give it back
      try {
        fs.linkSync(aside, file)
      } catch {
        /* a third owner got there; it holds the lock now */
      }
    }
    fs.rmSync(aside, { force: true })
  }
  const found = readOwner(file)
  return { held: false, owner: found?.owner ?? null }
}

const newOwner = (): LockOwner => ({ pid: process.pid, host: os.hostname(), token: randomBytes(8).toString("hex"), since: new Date().toISOString() })

/** One attempt at the lock for `me` (its directory created first). */
const attempt = (file: string, me: LockOwner, opts: LockOptions) =>
  Effect.try({
    try: () => {
      mkdirp(path.dirname(file))
      return tryCreate(file, me, opts.staleMs ?? 60_000)
    },
    catch: (e) => lockError(file, e)
  })

/** Remove the lock file if it still carries `token`. */
const releaseIfOurs = (file: string, token: string) => {
  if (readOwner(file)?.owner?.token === token) fs.rmSync(file, { force: true })
}

/**
 * Hold the lock at `file` for the enclosing scope, waiting while a live owner holds it. Released when
 * the scope closes (whatever the exit), and only if it still carries this holder's token.
 */
export const acquireLock = (file: string, opts: LockOptions = {}): Effect.Effect<HeldLock, StoreError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const me = newOwner()
      let waiting = false
      for (;;) {
        const r = yield* attempt(file, me, opts)
        if (r.held) break
        if (!waiting && r.owner) opts.onWait?.(r.owner)
        waiting = true
        yield* Effect.sleep(opts.pollMs ?? 100)
      }
      let held = true
      const beat = setInterval(() => {
        if (readOwner(file)?.owner?.token !== me.token) {
          held = false
          clearInterval(beat)
          return
        }
        const now = new Date()
        fs.utimes(file, now, now, () => {})
      }, opts.heartbeatMs ?? 2_000)
      beat.unref()
      return { file, token: me.token, held: () => held, stop: () => clearInterval(beat) }
    }),
    (lock) =>
      Effect.sync(() => {
        lock.stop()
        releaseIfOurs(lock.file, lock.token)
      })
  )

/** Hold the lock only if it is free right now (for cleaning up after dead owners); null otherwise. */
export const tryLock = (file: string, opts: LockOptions = {}) =>
  Effect.gen(function* () {
    const me = newOwner()
    if (!(yield* attempt(file, me, opts)).held) return null
    yield* Effect.addFinalizer(() => Effect.sync(() => releaseIfOurs(file, me.token)))
    return { file, token: me.token }
  })

const lockError = (file: string, e: unknown) => {
  const err = e as NodeJS.ErrnoException
  return new StoreError({ path: file, reason: `lock: ${err.code ? err.message.split("\n")[0] : String(e)}` })
}
