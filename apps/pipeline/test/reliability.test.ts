import { verifyStore } from "@conceptscope/artifacts"
import { Effect } from "effect"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { CLI, ROOT, tinyConfig, tmp, writeConfig } from "./helpers.js"

/**
 * Crash safety of the whole pipeline, as a user meets it: the CLI killed with SIGKILL at each named
 * point of the commit protocol (core's crashPoint) and at random moments, then rerun; two sweeps of
 * one config on one store at once. Every run must end with a store whose artifacts are byte for byte
 * those of one uninterrupted run, with no temporary file in any artifact and no leftover in
 * .staging, .locks or .resume.
 */
const config = tinyConfig({ train: { steps: 60, batchSize: 16, lr: 0.003, checkpoints: 4 } })

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
  readonly seconds: number
}

const sweep = (file: string, store: string, env: Record<string, string> = {}, killAfterMs?: number, extra: string[] = []): Promise<Run> =>
  new Promise((resolve) => {
    const t0 = performance.now()
    const p = spawn(process.execPath, [CLI, "sweep", "--config", file, "--store", store, "--out", path.join(store, "..", "reports"), "--backend", "wasm", ...extra], {
      cwd: ROOT,
      env: { ...process.env, CONCEPTSCOPE_QUIET: "0", ...env }
    })
    let stderr = ""
    p.stderr.on("data", (d) => (stderr += d))
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => p.kill("SIGKILL"), killAfterMs)
    p.on("exit", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stderr, seconds: (performance.now() - t0) / 1000 })
    })
  })

/** Every artifact of a store: kind/key -> { file -> bytes } (manifest.json compared by its file list). */
function snapshot(store: string): Map<string, Map<string, Buffer | string>> {
  const out = new Map<string, Map<string, Buffer | string>>()
  for (const kind of fs.readdirSync(store).filter((k) => !k.startsWith(".")).sort())
    for (const key of fs.readdirSync(path.join(store, kind)).sort()) {
      const dir = path.join(store, kind, key)
      const files = new Map<string, Buffer | string>()
      const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
          const r = rel ? `${rel}/${e.name}` : e.name
          if (e.isDirectory()) walk(r)
          else if (r === "manifest.json") files.set(r, JSON.stringify(JSON.parse(fs.readFileSync(path.join(dir, r), "utf8")).files))
          else files.set(r, fs.readFileSync(path.join(dir, r)))
        }
      }
      walk("")
      out.set(`${kind}/${key}`, files)
    }
  return out
}

const leftovers = (store: string) =>
  [".staging", ".locks", ".resume"].flatMap((d) => (fs.existsSync(path.join(store, d)) ? fs.readdirSync(path.join(store, d)).map((f) => `${d}/${f}`) : []))

function expectSameStore(got: string, want: Map<string, Map<string, Buffer | string>>, label: string) {
  const g = snapshot(got)
  expect([...g.keys()], label).toEqual([...want.keys()])
  for (const [artifact, files] of want) {
    const gf = g.get(artifact)!
    expect([...gf.keys()], `${label}: ${artifact}`).toEqual([...files.keys()])
    for (const [f, bytes] of files) expect(Buffer.from(gf.get(f)!).equals(Buffer.from(bytes)), `${label}: ${artifact}/${f}`).toBe(true)
  }
  expect(leftovers(got), label).toEqual([])
}

/** A small tmpfs to fill up (root in a container that allows mounts, as here and in CI); null when it cannot be made. */
const smallDisk = (() => {
  const mnt = tmp("cs-tmpfs-")
  return spawnSync("mount", ["-t", "tmpfs", "-o", "size=120k", "tmpfs", mnt]).status === 0 ? mnt : null
})()

afterAll(() => {
  if (smallDisk) spawnSync("umount", [smallDisk])
})

describe("crash safety (kill -9) and concurrent runs", () => {
  const dir = tmp("cs-reliability-")
  const file = writeConfig(dir, config)
  let straight: Map<string, Map<string, Buffer | string>>
  let straightSeconds = 0

  it("an uninterrupted run: the reference store, verified", async () => {
    const store = path.join(dir, "straight", "store")
    const r = await sweep(file, store)
    expect(r.code, r.stderr).toBe(0)
    straightSeconds = r.seconds
    straight = snapshot(store)
    expect(straight.size).toBe(11)
    const v = await Effect.runPromise(verifyStore(store))
    expect(v).toEqual({ checked: 11, problems: [] })
  })

  // named points: (point, occurrence); the store commits evalset, probeset, train, evaluate, extract, probe, embed, patch, curves, report in that order
  const named: [string, number][] = [
    ["safetensors-before-rename", 1],
    ["safetensors-before-rename", 10],
    ["safetensors-before-rename", 40],
    ["rundir-before-pointer", 1],
    ["rundir-before-pointer", 15],
    ["train-adopt", 2],
    ["store-before-commit", 1],
    ["store-before-commit", 3],
    ["store-before-commit", 5],
    ["store-after-commit", 3],
    ["store-after-commit", 7],
    ["store-before-commit", 10]
  ]
  it.each(named)("killed at %s (occurrence %i), rerun: the same bytes, nothing left over", async (point, n) => {
    const store = path.join(dir, `${point}-${n}`, "store")
    const killed = await sweep(file, store, { CONCEPTSCOPE_CRASH_AT: `${point}:${n}` })
    expect(killed.signal, killed.stderr).toBe("SIGKILL")
    const resumed = await sweep(file, store)
    expect(resumed.code, resumed.stderr).toBe(0)
    expectSameStore(store, straight, `${point}:${n}`)
  })

  it("killed at 8 random moments, each rerun: the same bytes, nothing left over", async () => {
    let seed = 20251202
    const rand = () => ((seed = (1103515245 * seed + 12345) % 2 ** 31) / 2 ** 31)
    for (let i = 0; i < 8; i++) {
      const store = path.join(dir, `random-${i}`, "store")
      const at = Math.round((0.6 + 0.8 * rand() * (straightSeconds - 0.6)) * 1000)
      const killed = await sweep(file, store, {}, at)
      const resumed = await sweep(file, store)
      expect(resumed.code, `kill after ${at} ms (${killed.signal ?? killed.code}): ${resumed.stderr}`).toBe(0)
      expectSameStore(store, straight, `random kill after ${at} ms`)
    }
  }, 600_000)

  it("two sweeps of one config on one store at once: both succeed, each stage is computed once", async () => {
    const store = path.join(dir, "two", "store")
    const first = sweep(file, store)
    await new Promise((r) => setTimeout(r, 300))
    const [a, b] = await Promise.all([first, sweep(file, store)])
    expect(a.code, a.stderr).toBe(0)
    expect(b.code, b.stderr).toBe(0)
    const computed = (s: string) => s.split("\n").filter((l) => / computed in /.test(l)).map((l) => l.split("]")[0])
    expect([...computed(a.stderr), ...computed(b.stderr)].sort()).toEqual([...straight.keys()].map((k) => `[${k.split("/")[0]}`).sort())
    expectSameStore(store, straight, "two processes")
  })

  it("the same key twice in one process (seeds [3, 3], concurrency 2): computed once, reused once", async () => {
    const store = path.join(dir, "twice", "store")
    const r = await sweep(file, store, {}, undefined, ["--set", "seeds=[3,3]", "--concurrency", "2"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr.split("\n").filter((l) => / computed in /.test(l))).toHaveLength(11)
    expect(r.stderr.split("\n").filter((l) => / cache hit /.test(l))).toHaveLength(11)
    expectSameStore(store, straight, "seeds [3, 3]")
  })

  it.runIf(smallDisk !== null)("a full disk: one line naming the file and the cause; once space is freed the rerun gives the same bytes", async () => {
    const store = path.join(smallDisk!, "store")
    try {
      const full = await sweep(file, store, {}, undefined, ["--until", "train"])
      expect(full.code).toBe(1)
      expect(full.stderr.trim().split("\n").pop()).toMatch(new RegExp(`^error: stage train: ${store}/\\.resume/train-[0-9a-f]{32}/.*\\.safetensors: cannot write: ENOSPC`))
      expect(fs.readdirSync(store).filter((d) => !d.startsWith("."))).toEqual(["evalset", "probeset"].filter((d) => fs.existsSync(path.join(store, d))))
      expect(spawnSync("mount", ["-o", "remount,size=50m", smallDisk!]).status).toBe(0)
      const rerun = await sweep(file, store)
      expect(rerun.code, rerun.stderr).toBe(0)
      expectSameStore(store, straight, "after a full disk")
    } finally {
      fs.rmSync(store, { recursive: true, force: true })
    }
  })

  it.runIf(smallDisk !== null)("a read-only store: one line naming the path and EROFS", async () => {
    const ro = tmp("cs-rofs-")
    expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", ro]).status).toBe(0)
    try {
      const r = await sweep(file, path.join(ro, "store"), {}, undefined, ["--until", "train"])
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split("\n").pop()).toMatch(new RegExp(`^error: ${ro}/store/.*: .*EROFS: read-only file system, mkdir '${ro}/store'$`))
    } finally {
      spawnSync("umount", [ro])
    }
  })

  it("a changed byte in an artifact is reported by verify and by the next stage that reads it", async () => {
    const store = path.join(dir, "corrupt", "store")
    fs.cpSync(path.join(dir, "straight", "store"), store, { recursive: true })
    const curves = fs.readdirSync(path.join(store, "evaluate")).map((k) => path.join(store, "evaluate", k, "curves.parquet"))[0]
    const fd = fs.openSync(curves, "r+")
    const b = Buffer.alloc(1)
    fs.readSync(fd, b, 0, 1, 200)
    fs.writeSync(fd, Buffer.from([b[0] ^ 0xff]), 0, 1, 200)
    fs.closeSync(fd)
    const v = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn(process.execPath, [CLI, "verify", "--store", store], { cwd: ROOT })
      let out = ""
      p.stdout.on("data", (d) => (out += d))
      p.on("exit", (code) => resolve({ code, out }))
    })
    expect(v.code).toBe(1)
    expect(v.out).toContain(`${curves}: content changed`)
    // the report reads the training curves: recomputing it (new notes) must refuse the changed file
    const r = await sweep(file, store, {}, undefined, ["--set", 'notes=["recomputed"]'])
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n").pop()).toMatch(new RegExp(`^error: ${curves.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: content changed`))
  })
})
