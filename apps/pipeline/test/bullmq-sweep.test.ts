import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CLI, ROOT, storeListing, tinyConfig, tmp, writeConfig } from "./helpers.js"
import { type LocalRedis, redisWanted, startRedis } from "../src/queue/local-redis.js"

/**
 * The BullMQ executor end to end: Redis on a free loopback port, two worker processes and a producer.
 * Worker A is killed with kill -9 while it trains; the sweep still completes, A's training job runs
 * again on B, every artifact is the in-process executor's byte for byte, and nothing commits twice.
 */
// the workers' and the producer's progress lines are what the test reads
const env: NodeJS.ProcessEnv = { ...process.env }
delete env.CONCEPTSCOPE_QUIET

interface Running {
  readonly child: ChildProcess
  log: string
}
const start = (args: string[]): Running => {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env })
  const r: Running = { child, log: "" }
  child.stdout?.on("data", (d) => (r.log += d))
  child.stderr?.on("data", (d) => (r.log += d))
  return r
}
const exited = (r: Running) => new Promise<number | null>((res) => (r.child.exitCode !== null || r.child.signalCode !== null ? res(r.child.exitCode) : r.child.once("exit", (c) => res(c))))
const until = async (what: () => boolean, ms: number, label: string) => {
  const t0 = Date.now()
  while (!what()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${label}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Every file of every artifact, and each manifest without what records the run rather than the result
 * (createdAt, wallSeconds, and the train stage's msPerStep and resumedFrom): what must be identical.
 */
function contents(store: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const a of storeListing(store)) {
    const walk = (rel: string) => {
      for (const f of fs.readdirSync(path.join(store, a, rel))) {
        const p = path.join(rel, f)
        const full = path.join(store, a, p)
        if (fs.statSync(full).isDirectory()) walk(p)
        else if (f === "manifest.json") {
          const { createdAt: _c, wallSeconds: _w, meta, ...m } = JSON.parse(fs.readFileSync(full, "utf8"))
          const { msPerStep: _s, resumedFrom: _r, ...result } = meta ?? {}
          out[`${a}/${p}`] = JSON.stringify({ ...m, meta: result })
        } else out[`${a}/${p}`] = fs.readFileSync(full).toString("base64")
      }
    }
    walk("")
  }
  return out
}

describe.skipIf(!redisWanted())("sweep on BullMQ: two workers, one killed with kill -9", () => {
  let redis: LocalRedis
  const dir = tmp("cs-bullmq-")
  const store = path.join(dir, "store")
  // long enough training that A is killed in the middle of it, with checkpoints to resume from
  const file = writeConfig(dir, tinyConfig({ seeds: [3, 4], train: { steps: 1500, batchSize: 16, lr: 0.003, checkpoints: 4 } }))
  const sweepArgs = ["sweep", "--config", file, "--backend", "wasm", "--executor", "bullmq"]
  const workerArgs = (name: string) => ["worker", "--redis", redis.url, "--store", store, "--backend", "wasm", "--lock-ms", "3000", "--name", name]
  let b: Running | null = null

  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    if (b && b.child.exitCode === null) {
      b.child.kill("SIGTERM")
      await exited(b)
    }
    await redis?.stop()
  })

  it("completes, reruns the killed job on the survivor, matches the in-process executor byte for byte", async () => {
    const a = start(workerArgs("A"))
    b = start(workerArgs("B"))
    await until(() => a.log.includes("[worker] A on") && (b as Running).log.includes("[worker] B on"), 60_000, "the workers to start")
    const producer = start([...sweepArgs, "--redis", redis.url, "--store", store, "--out", path.join(dir, "reports")])
    // kill A once it has trained a while (its progress line), not at the job's start
    const trainJob = () => /\[worker\] (train\.[0-9a-f]+) \(train, seed \d, attempt 1\) started/.exec(a.log)?.[1]
    await until(() => trainJob() !== undefined && a.log.slice(a.log.indexOf(trainJob() as string)).includes("[train]"), 120_000, "A to train")
    const killed = trainJob() as string
    a.child.kill("SIGKILL")
    await exited(a)
    expect(await exited(producer), producer.log).toBe(0)
    expect(alive(a.child.pid as number)).toBe(false)
    // no process is left running A's job: A ran its jobs on threads, which died with it
    const ps = spawnSync("ps", ["-eo", "args"], { encoding: "utf8" }).stdout
    expect(ps.split("\n").filter((l) => l.includes(redis.url) && l.includes("--name A")), ps).toEqual([])
    expect(b.log).toMatch(new RegExp(`\\[worker\\] ${killed.replace(".", "\\.")} \\(train, seed \\d, attempt 2\\) started`))
    expect(a.log).not.toMatch(new RegExp(`${killed.replace(".", "\\.")} computed`))

    // every stage committed once, by one worker; the producer computed nothing
    const computed = [...(a.log + b.log).matchAll(/\[worker\] \S+ computed in [\d.]+ s: (\S+)/g)].map((m) => m[1]).sort()
    expect(new Set(computed).size).toBe(computed.length)
    expect(computed).toEqual(storeListing(store))
    expect(producer.log).not.toMatch(/computed in/)

    // the in-process executor's artifacts, byte for byte
    const reference = path.join(dir, "reference")
    const ip = spawnSync(process.execPath, [CLI, "sweep", "--config", file, "--backend", "wasm", "--store", reference, "--out", path.join(dir, "reports-ip")], { cwd: ROOT, env: { ...env, CONCEPTSCOPE_QUIET: "1" }, encoding: "utf8" })
    expect(ip.status, ip.stderr).toBe(0)
    expect(storeListing(store)).toEqual(storeListing(reference))
    expect(contents(store)).toEqual(contents(reference))
    for (const f of ["seed-3/summary.json", "seed-4/summary.json"])
      expect(fs.readFileSync(path.join(dir, "reports", "tiny", f), "utf8")).toBe(fs.readFileSync(path.join(dir, "reports-ip", "tiny", f), "utf8"))
  }, 420_000)

  it("re-enqueueing the finished sweep runs no stage, and neither does a flushed Redis with the store kept", async () => {
    const jobsSeen = () => ((b as Running).log.match(/\] \S+ \(.*\) started/g) ?? []).length
    const before = jobsSeen()
    for (const flush of [false, true]) {
      if (flush) expect(redis.cli("flushall")).toBe("OK")
      const p = spawnSync(process.execPath, [CLI, ...sweepArgs, "--redis", redis.url, "--store", store, "--out", path.join(dir, "reports")], { cwd: ROOT, env, encoding: "utf8" })
      expect(p.status, p.stderr).toBe(0)
      expect(p.stderr + p.stdout).toMatch(/\[queue\] 0 stage job\(s\) to run, 22 stage\(s\) already in/)
      expect(p.stderr + p.stdout).not.toMatch(/computed in/)
    }
    expect(jobsSeen()).toBe(before)
  }, 120_000)
})
