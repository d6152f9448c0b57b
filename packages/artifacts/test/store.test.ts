import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { ArtifactStoreLive, cleanLeftovers, runStage, verifyStore } from "../src/index.js"
import { isStale } from "../src/key-lock.js"
import { makeArtifactStore } from "../src/store.js"
import { slowStage } from "./fixtures/slow-stage.js"

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "commit-child.ts")
const tmpRoot = () => fs.mkdtempSync(path.join(os.tmpdir(), "cs-lock-"))

const run = <A, E>(root: string, eff: Effect.Effect<A, E, any>) => Effect.runPromise(eff.pipe(Effect.provide(ArtifactStoreLive(root))) as Effect.Effect<A, E, never>)

describe("one owner per key", () => {
  it("two fibers of one process computing the same key: one computes, the other waits and reuses", async () => {
    const root = tmpRoot()
    const counter = path.join(root, "runs")
    const stage = slowStage(counter, 300)
    const [a, b] = await run(root, Effect.all([runStage(stage, { n: 2 }, {}), runStage(stage, { n: 2 }, {})], { concurrency: 2 }))
    expect(fs.readFileSync(counter, "utf8")).toBe("x")
    expect([a.cached, b.cached].sort()).toEqual([false, true])
    expect(a.ref.key).toBe(b.ref.key)
    expect(fs.readdirSync(path.join(root, ".locks"))).toEqual([])
  })

  it("two processes computing the same key: one computes, the other waits and reuses", async () => {
    const root = tmpRoot()
    const counter = path.join(root, "runs")
    const child = () =>
      new Promise<{ cached: boolean; key: string }>((resolve, reject) => {
        const p = spawn(process.execPath, ["--conditions=@conceptscope/source", "--import", "tsx", CHILD, root, counter, "1500", "3"], { cwd: ROOT })
        let out = ""
        p.stdout.on("data", (d) => (out += d))
        p.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`exit ${code}`))))
      })
    const results = await Promise.all([child(), child()])
    expect(fs.readFileSync(counter, "utf8")).toBe("x")
    expect(results.map((r) => r.cached).sort()).toEqual([false, true])
    expect(results[0].key).toBe(results[1].key)
  }, 60_000)

  it("a lock whose owner died on this host is stale at once; another host's only once its heartbeat is old", () => {
    const now = Date.now()
    const dead = { pid: 2 ** 22 + 12345, host: os.hostname(), token: "t", since: "" }
    expect(isStale({ owner: dead, mtimeMs: now }, 60_000, now)).toBe(true)
    expect(isStale({ owner: { ...dead, pid: process.pid }, mtimeMs: now - 3_600_000 }, 60_000, now)).toBe(false)
    const remote = { ...dead, host: "elsewhere" }
    expect(isStale({ owner: remote, mtimeMs: now - 1000 }, 60_000, now)).toBe(false)
    expect(isStale({ owner: remote, mtimeMs: now - 61_000 }, 60_000, now)).toBe(true)
    expect(isStale({ owner: null, mtimeMs: now - 61_000 }, 60_000, now)).toBe(true)
  })

  it("an owner killed but not yet reaped by its parent (a zombie) counts as dead", () => {
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"])
    child.kill("SIGKILL")
    // the event loop does not run here, so the child cannot be reaped: wait until the kernel shows it as a zombie
    const stat = () => fs.readFileSync(`/proc/${child.pid}/stat`, "utf8")
    const t0 = Date.now()
    while (!stat().includes(") Z ") && Date.now() - t0 < 5000) {
      /* spin */
    }
    expect(stat()).toContain(") Z ")
    expect(isStale({ owner: { pid: child.pid!, host: os.hostname(), token: "z", since: "" }, mtimeMs: Date.now() }, 60_000)).toBe(true)
  })

  it("a dead owner's lock and staging directory do not block the key, and are gone after the commit", async () => {
    const root = tmpRoot()
    const stage = slowStage(path.join(root, "runs"), 0)
    const store = makeArtifactStore(root)
    const key = (await run(root, runStage(stage, { n: 1 }, {}))).ref.key
    fs.rmSync(store.dirOf("slow", key), { recursive: true })
    fs.mkdirSync(path.join(root, ".locks"), { recursive: true })
    fs.writeFileSync(path.join(root, ".locks", `slow-${key}.lock`), JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), token: "dead", since: "" }))
    fs.mkdirSync(path.join(root, ".staging", `slow-${key}-deadbeef`), { recursive: true })
    fs.writeFileSync(path.join(root, ".staging", `slow-${key}-deadbeef`, "data.bin"), "half")
    const r = await run(root, runStage(stage, { n: 1 }, {}))
    expect(r.cached).toBe(false)
    expect(fs.readdirSync(path.join(root, ".staging"))).toEqual([])
    expect(fs.readdirSync(path.join(root, ".locks"))).toEqual([])
  })
})

describe("verified artifacts", () => {
  const setup = async () => {
    const root = tmpRoot()
    const r = await run(root, runStage(slowStage(path.join(root, "runs"), 0), { n: 4 }, {}))
    return { root, dir: r.ref.dir, file: path.join(r.ref.dir, "data.bin") }
  }

  it("a changed byte is reported by verify naming the file, and --repair moves the artifact aside so it is recomputed", async () => {
    const { root, dir, file } = await setup()
    expect((await Effect.runPromise(verifyStore(root))).problems).toEqual([])
    const fd = fs.openSync(file, "r+")
    fs.writeSync(fd, Buffer.from([8]), 0, 1, 123)
    fs.closeSync(fd)
    const found = await Effect.runPromise(verifyStore(root))
    expect(found.checked).toBe(1)
    expect(found.problems).toEqual([{ dir, file, reason: expect.stringMatching(/^content changed \(xxhash64 [0-9a-f]{16}, the manifest says [0-9a-f]{16}\)$/) }])
    const repaired = await Effect.runPromise(verifyStore(root, { repair: true }))
    expect(repaired.problems[0].movedTo).toMatch(/\.broken\/slow-[0-9a-f]{32}-\d+$/)
    expect(fs.existsSync(dir)).toBe(false)
    const again = await run(root, runStage(slowStage(path.join(root, "runs"), 0), { n: 4 }, {}))
    expect(again.cached).toBe(false)
    expect((await Effect.runPromise(verifyStore(root))).problems).toEqual([])
  })

  it("a truncated file fails the cache hit naming the file; a missing manifest is a damaged artifact, not an ENOTEMPTY", async () => {
    const { root, dir, file } = await setup()
    fs.truncateSync(file, 10)
    const e1 = await run(root, Effect.flip(runStage(slowStage(path.join(root, "runs"), 0), { n: 4 }, {})))
    expect(e1.message).toBe(`${file}: 10 bytes, the manifest says 4000 (conceptscope verify --repair moves the artifact aside)`)
    fs.rmSync(path.join(dir, "manifest.json"))
    const e2 = await run(root, Effect.flip(runStage(slowStage(path.join(root, "runs"), 0), { n: 4 }, {})))
    expect(e2.message).toBe(`${path.join(dir, "manifest.json")}: missing: a damaged artifact (conceptscope verify --repair moves it aside)`)
    const stray = path.join(dir, "extra.tmp-1")
    fs.writeFileSync(path.join(dir, "manifest.json"), "{}")
    fs.writeFileSync(stray, "")
    expect((await Effect.runPromise(verifyStore(root))).problems[0].reason).toMatch(/^not a manifest: /)
  })

  it("cleanLeftovers removes dead owners' staging and committed keys' work directories, and keeps resumable ones", async () => {
    const { root, dir } = await setup()
    const key = path.basename(dir)
    const other = "0".repeat(32)
    for (const d of [`.staging/slow-${other}-00ff00ff`, `.resume/slow-${key}`, `.resume/train-${other}`]) fs.mkdirSync(path.join(root, d), { recursive: true })
    const r = await Effect.runPromise(cleanLeftovers(root))
    expect(r.removed.map((p) => path.relative(root, p)).sort()).toEqual([`.resume/slow-${key}`, `.staging/slow-${other}-00ff00ff`])
    expect(r.resumable.map((p) => path.relative(root, p))).toEqual([`.resume/train-${other}`])
    expect(fs.readdirSync(path.join(root, ".locks"))).toEqual([])
  })
})
