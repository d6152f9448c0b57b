import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { startRedis } from "@conceptscope/pipeline"

/**
 * The BullMQ executor against the in-process one, on this machine (`npm run bench -- --only=queue`):
 *   - overhead per job: a sweep of `trivialSeeds` cells of a tiny config (5 training steps; 11 stages a
 *     cell) in process, then on the queue with one worker already running; (queue - in-process) / jobs;
 *   - a 4-seed quick sweep (`quickSteps` training steps) in process, with 1 worker and with 2 workers.
 * Each run starts from an empty store; workers are started (and their start-up excluded) before the
 * producer's clock starts. Redis runs on a free loopback port.
 */
export interface QueueBenchRow {
  readonly name: string
  readonly seconds: number
  readonly note: string
}

const tiny = (seeds: number[]) => ({
  name: "tiny", description: "bench", seeds,
  task: { dim: 4, nBases: 2, rank: 2, layout: "disjoint", groups: 2, noiseVariance: 0.01, nExamples: 4, weightPool: { kind: "pool", size: 1, seed: 5 }, weightScale: 1 },
  model: { nLayers: 2, dModel: 16, nHeads: 2, tokenFormat: "xy-pair" },
  train: { steps: 5, batchSize: 16, lr: 0.003, checkpoints: 4 },
  eval: { sequences: 40 },
  probe: { perConcept: 12, k: 5, positions: ["last-x", "last-y"], reportPosition: "last-y" },
  patching: { perConcept: 8 }
})

export async function benchQueue(root: string, opts: { trivialSeeds: number; quickSteps: number }): Promise<QueueBenchRow[]> {
  const cli = path.join(root, "apps/pipeline/bin/conceptscope.mjs")
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cs-bench-queue-"))
  const redis = await startRedis()
  const env = { ...process.env, CONCEPTSCOPE_QUIET: "1" }
  const sweep = (args: string[]) => {
    const t0 = performance.now()
    const r = spawnSync(process.execPath, [cli, "sweep", "--backend", "wasm", ...args], { cwd: root, env, encoding: "utf8" })
    if (r.status !== 0) throw new Error(`sweep ${args.join(" ")}: ${r.stderr.trim().split("\n").at(-1)}`)
    return (performance.now() - t0) / 1000
  }
  const withWorkers = async (n: number, store: string, run: () => number): Promise<number> => {
    const workers: ChildProcess[] = []
    try {
      for (let i = 0; i < n; i++) {
        const w = spawn(process.execPath, [cli, "worker", "--redis", redis.url, "--store", store, "--backend", "wasm"], { cwd: root, env: { ...process.env, CONCEPTSCOPE_QUIET: "" } })
        let log = ""
        w.stderr?.on("data", (d) => (log += d))
        w.stdout?.on("data", (d) => (log += d))
        workers.push(w)
        for (let t = 0; !log.includes("[worker]") && t < 600; t++) await new Promise((r) => setTimeout(r, 100))
      }
      return run()
    } finally {
      for (const w of workers) w.kill("SIGTERM")
      await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once("exit", r)))))
      redis.cli("flushall")
    }
  }
  try {
    const rows: QueueBenchRow[] = []
    const seeds = Array.from({ length: opts.trivialSeeds }, (_, i) => i + 1)
    const file = path.join(dir, "tiny.json")
    fs.writeFileSync(file, JSON.stringify(tiny(seeds)))
    const jobs = seeds.length * 11
    const ip = sweep(["--config", file, "--store", path.join(dir, "s-ip"), "--out", path.join(dir, "r")])
    const q = await withWorkers(1, path.join(dir, "s-q"), () => sweep(["--config", file, "--store", path.join(dir, "s-q"), "--out", path.join(dir, "r"), "--executor", "bullmq", "--redis", redis.url]))
    rows.push({ name: `${seeds.length} trivial cells (${jobs} stages), in process`, seconds: ip, note: "baseline" })
    rows.push({ name: `${seeds.length} trivial cells (${jobs} stages), BullMQ, 1 worker`, seconds: q, note: `${(((q - ip) / jobs) * 1000).toFixed(0)} ms overhead per job` })
    const quick = ["--config", "quick", "--set", "seeds=[1,2,3,4]", "--set", `train.steps=${opts.quickSteps}`, "--out", path.join(dir, "r")]
    const qip = sweep([...quick, "--store", path.join(dir, "quick-ip")])
    rows.push({ name: `quick, 4 seeds, ${opts.quickSteps} steps, in process`, seconds: qip, note: "baseline" })
    for (const n of [1, 2]) {
      const store = path.join(dir, `quick-${n}`)
      const t = await withWorkers(n, store, () => sweep([...quick, "--store", store, "--executor", "bullmq", "--redis", redis.url]))
      rows.push({ name: `quick, 4 seeds, ${opts.quickSteps} steps, BullMQ, ${n} worker(s)`, seconds: t, note: `${(t / qip).toFixed(2)}x in-process time, ${os.cpus().length} cores` })
    }
    return rows
  } finally {
    await redis.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
