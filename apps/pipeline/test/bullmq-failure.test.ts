import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CLI, ROOT, storeListing, tinyConfig, tmp, writeConfig } from "./helpers.js"
import { type LocalRedis, redisWanted, startRedis } from "../src/queue/local-redis.js"

/**
 * A cell that fails for good on the queue: one cell's trained checkpoint is damaged on the shared store
 * (a flipped byte, its size unchanged), so every stage that reads it fails the store's hash check. The
 * worker tries the stage ATTEMPTS times with backoff, the producer reports the cell's first failed stage
 * with the store's one-line error, the other cell completes with its report and the sweep summary, and
 * the producer exits 1. The damaged artifact is left where it is (the error says how to move it aside).
 */
const env: NodeJS.ProcessEnv = { ...process.env }
delete env.CONCEPTSCOPE_QUIET

const run = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.once("exit", (status) => resolve({ status, stdout, stderr }))
  })

describe.skipIf(!redisWanted())("sweep on BullMQ: a cell that fails for good", () => {
  let redis: LocalRedis
  const dir = tmp("cs-bullmq-fail-")
  const store = path.join(dir, "store")
  const out = path.join(dir, "reports")
  const file = writeConfig(dir, tinyConfig({ seeds: [5, 6] }))

  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it("retries the failing stage with backoff, reports it in one line, and still reports the other cell", async () => {
    // both cells trained in process; then seed 6's checkpoint is damaged on the store
    const trained = spawnSync(process.execPath, [CLI, "sweep", "--config", file, "--backend", "wasm", "--store", store, "--until", "train"], { cwd: ROOT, env: { ...env, CONCEPTSCOPE_QUIET: "1" }, encoding: "utf8" })
    expect(trained.status, trained.stderr).toBe(0)
    const runs = storeListing(store).filter((a) => a.startsWith("train/"))
    const seedOf = (a: string) => JSON.parse(fs.readFileSync(path.join(store, a, "manifest.json"), "utf8")).params.seed as number
    const damaged = runs.find((a) => seedOf(a) === 6) as string
    expect(runs.map(seedOf).sort()).toEqual([5, 6])
    const ckpt = path.join(store, damaged, "checkpoints")
    const last = path.join(ckpt, fs.readdirSync(ckpt).sort().at(-1) as string)
    const bytes = fs.readFileSync(last)
    bytes[bytes.length - 3] ^= 0xff
    fs.writeFileSync(last, bytes)

    const worker = spawn(process.execPath, [CLI, "worker", "--redis", redis.url, "--store", store, "--backend", "wasm", "--name", "W"], { cwd: ROOT, env })
    let wlog = ""
    worker.stdout.on("data", (d) => (wlog += d))
    worker.stderr.on("data", (d) => (wlog += d))
    try {
      const t0 = Date.now()
      // asynchronous, so the worker's output keeps arriving meanwhile
      const producer = await run(["sweep", "--config", file, "--backend", "wasm", "--executor", "bullmq", "--redis", redis.url, "--store", store, "--out", out])
      const seconds = (Date.now() - t0) / 1000
      expect(producer.status, producer.stdout + producer.stderr).toBe(1)
      const lines = producer.stderr.trim().split("\n")
      const error = lines.at(-1) as string
      // the last line is the sweep's error: which cell, at which stage, the store's reason, and what to do
      expect(error).toMatch(/^error: 1 of 2 cell\(s\) failed: seed 6 at \w+: .*checkpoints\/step-\d+\.safetensors: .*conceptscope verify --repair moves the artifact aside\)$/)
      // the failing stage ran 3 times, with backoff between (2 s, then 4 s)
      const failing = /seed 6 at (\w+)/.exec(error)?.[1] as string
      const attempts = [...wlog.matchAll(new RegExp(`\\[worker\\] \\S+ \\(${failing}, seed 6, attempt (\\d)\\) failed: `, "g"))].map((m) => Number(m[1]))
      expect(attempts, wlog).toEqual([1, 2, 3])
      expect(seconds).toBeGreaterThan(6)
      // nothing after the failed stage ran for seed 6; seed 5 ran through to its report
      expect(wlog).not.toMatch(/\(report, seed 6/)
      expect(fs.existsSync(path.join(out, "tiny", "seed-5", "summary.json"))).toBe(true)
      expect(fs.existsSync(path.join(out, "tiny", "seed-6"))).toBe(false)
      expect(producer.stderr).toMatch(/\(1 failed cell\(s\) left out\)/)
      // status lists the failed job with its attempts and the same one-line reason, and the worker
      const status = await run(["status", "--redis", redis.url])
      expect(status.status, status.stderr).toBe(0)
      expect(status.stdout + status.stderr).toMatch(new RegExp(`failed ${failing}\\.\\w+ \\(${failing}, seed 6\\) after 3 attempt\\(s\\): .*content changed`))
      expect(status.stdout + status.stderr).toMatch(/workers: W/)
      // the damaged artifact stays (verify --repair is the user's call) and nothing else of seed 6 was committed after it
      expect(fs.existsSync(path.join(store, damaged, "manifest.json"))).toBe(true)
    } finally {
      worker.kill("SIGTERM")
      await new Promise((r) => worker.once("exit", r))
    }
  }, 300_000)
})
