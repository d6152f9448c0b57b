import { ArtifactStore, StageError } from "@conceptscope/artifacts"
import { note } from "@conceptscope/core"
import { FlowProducer, type FlowJob, Job, Queue } from "bullmq"
import { Effect, Layer } from "effect"
import { type FailedCell, SweepExecutor, type SweepRun } from "../executor.js"
import { type CellResult, runCell } from "../experiment/run-cell.js"
import { ATTEMPTS, BACKOFF_MS, queueName, STAGE_KINDS, type StageJobData } from "./jobs.js"
import { type CellPlan, encodeConfig, planCell, type PlannedStage, type StageKind } from "./plan.js"
import { checkRedis, redisClient } from "./redis.js"

export interface BullmqExecutorOptions {
  readonly redis: string
  /** how often the producer looks at its jobs (default 500 ms) */
  readonly pollMs?: number
}

type State = "queued" | "running" | "done" | "failed"
const stateOf = (s: string): State => (s === "completed" ? "done" : s === "failed" ? "failed" : s === "active" ? "running" : "queued")

/**
 * The BullMQ executor: the producer side of `conceptscope sweep --executor bullmq --redis URL`.
 * 1. A cache-only walk of every cell (queue/plan.ts) finds the stages the store lacks; a finished sweep
 *    enqueues nothing.
 * 2. Each cell's missing stages go on the queues as one BullMQ flow, a chain in table order (a stage
 *    starts once the one before it completed), each job on the queue of its kind, with its id naming
 *    its artifact, ATTEMPTS tries with exponential backoff, and failParentOnFailure so a failed stage
 *    fails its cell. Jobs of the same ids from an earlier run that completed or failed are removed
 *    first, so they run again (their artifacts are not in the store, or they failed).
 * 3. It waits, printing per stage how many jobs are queued, running, done and failed.
 * 4. The completed cells are read back through the store (all cache hits: it fails if a worker's
 *    artifact is not in this producer's store, i.e. they do not share it); failed cells are returned
 *    with their first failed stage and its one-line error, and the other cells still get their reports.
 */
export const BullmqExecutor = (opts: BullmqExecutorOptions) =>
  Layer.succeed(SweepExecutor, {
    name: `bullmq (${opts.redis})`,
    runCells: <C>(run: SweepRun<C>) =>
      Effect.gen(function* () {
        yield* checkRedis(opts.redis)
        const store = yield* ArtifactStore
        const plans = yield* Effect.forEach(run.cells, (cell, i) => planCell(run.experiment, cell, i, { until: run.until, file: run.file }))
        const pending = plans.flatMap((p) => p.stages.filter((s) => !s.committed).map((s) => ({ plan: p, s })))
        const committed = plans.reduce((n, p) => n + p.stages.length, 0) - pending.length
        note("queue", `${pending.length} stage job(s) to run, ${committed} stage(s) already in ${store.root}`)
        const failed: FailedCell[] = []
        if (pending.length > 0) {
          const config = encodeConfig(run.experiment, run.config)
          const outcome = yield* Effect.tryPromise({
            try: () => enqueueAndWait(opts, run, plans, pending, config),
            catch: (e) => new StageError({ stage: "(queue)", reason: e instanceof Error ? e.message.split("\n")[0] : String(e) })
          })
          failed.push(...outcome)
        }
        const failedSet = new Set(failed.map((f) => `${f.label ?? ""}/${f.seed}`))
        const results: CellResult[] = []
        for (const [i, cell] of run.cells.entries()) {
          if (failedSet.has(`${cell.label ?? ""}/${cell.seed}`)) continue
          const again = yield* planCell(run.experiment, cell, i, { until: run.until, file: run.file })
          const missing = again.stages.find((s) => !s.committed)
          if (missing !== undefined)
            return yield* Effect.fail(new StageError({ stage: missing.stage, reason: `job ${missing.jobId} completed on a worker, but its artifact is not in ${store.root}: the producer and the workers must share one store (--store on a shared file system)` }))
          results.push(yield* runCell(run.experiment, cell, { until: run.until, file: run.file }))
        }
        return { results, failed }
      })
  })

/** The flow of one cell: its missing stages as a chain, the last stage at the root. */
function cellFlow<C>(run: SweepRun<C>, plan: CellPlan, config: unknown): FlowJob | null {
  const jobs = plan.stages.filter((s) => !s.committed)
  let node: FlowJob | null = null
  for (const s of jobs) {
    const data: StageJobData = { experiment: run.experiment.name, config, file: run.file, cell: plan.index, seed: plan.seed, label: plan.label ?? null, stage: s.stage, version: s.version }
    const opts = { jobId: s.jobId, attempts: ATTEMPTS, backoff: { type: "exponential", delay: BACKOFF_MS }, failParentOnFailure: true, removeOnComplete: false, removeOnFail: false }
    node = { name: s.stage, queueName: queueName(s.kind), data, opts, ...(node ? { children: [node] } : {}) } as FlowJob
  }
  return node
}

type PendingJob = { readonly plan: CellPlan; readonly s: PlannedStage }

async function enqueueAndWait<C>(opts: BullmqExecutorOptions, run: SweepRun<C>, plans: readonly CellPlan[], jobs: readonly PendingJob[], config: unknown): Promise<FailedCell[]> {
  const connection = redisClient(opts.redis)
  const queues = new Map<StageKind, Queue>(STAGE_KINDS.map((k) => [k, new Queue(queueName(k), { connection })]))
  const flows = new FlowProducer({ connection })
  try {
    // jobs of these ids that finished earlier run again (their artifacts are missing, or they failed)
    for (const { s } of jobs) {
      const old = await Job.fromId(queues.get(s.kind) as Queue, s.jobId)
      const state = old ? await old.getState() : "unknown"
      if (old && (state === "completed" || state === "failed")) await old.remove({ removeChildren: false }).catch(() => undefined)
    }
    const trees = plans.map((p) => cellFlow(run, p, config)).filter((f): f is FlowJob => f !== null)
    await flows.addBulk(trees)
    note("queue", `${trees.length} cell flow(s) on ${[...new Set(jobs.map((j) => queueName(j.s.kind)))].join(", ")}; waiting for workers (conceptscope worker --redis ${opts.redis})`)
    return await waitFor(queues, jobs, opts.pollMs ?? 500)
  } finally {
    await flows.close()
    await Promise.all([...queues.values()].map((q) => q.close()))
    await connection.quit().catch(() => undefined)
  }
}

/** Poll the jobs until every cell's last job completed or one of its jobs failed for good. */
async function waitFor(queues: ReadonlyMap<StageKind, Queue>, jobs: readonly PendingJob[], pollMs: number): Promise<FailedCell[]> {
  const states = new Map<string, State>()
  const reasons = new Map<string, string>()
  let last = ""
  for (;;) {
    for (const { s } of jobs) {
      if (states.get(s.jobId) === "done" || states.get(s.jobId) === "failed") continue
      const job = await Job.fromId(queues.get(s.kind) as Queue, s.jobId)
      const st = job ? stateOf(await job.getState()) : "queued"
      states.set(s.jobId, st)
      if (st === "failed" && job) reasons.set(s.jobId, (job.failedReason ?? "failed").split("\n")[0])
    }
    const line = progressLine(jobs, states)
    if (line !== last) note("queue", line)
    last = line
    const cells = [...new Set(jobs.map((j) => j.plan))]
    const finished = cells.every((p) => {
      const own = jobs.filter((j) => j.plan === p)
      return states.get(own[own.length - 1].s.jobId) === "done" || own.some((j) => states.get(j.s.jobId) === "failed")
    })
    if (finished)
      return cells.flatMap((p) => {
        // the first failed stage in table order is the cause; the ones after it failed with it (failParentOnFailure)
        const first = jobs.find((j) => j.plan === p && states.get(j.s.jobId) === "failed")
        return first ? [{ seed: p.seed, label: p.label, stage: first.s.stage, error: reasons.get(first.s.jobId) ?? "failed" }] : []
      })
    await new Promise((r) => setTimeout(r, pollMs))
  }
}

/** Per stage: done / running / queued / failed counts. */
function progressLine(jobs: readonly { s: PlannedStage }[], states: ReadonlyMap<string, State>): string {
  const byStage = new Map<string, Record<State, number>>()
  for (const { s } of jobs) {
    const c = byStage.get(s.stage) ?? { queued: 0, running: 0, done: 0, failed: 0 }
    c[states.get(s.jobId) ?? "queued"]++
    byStage.set(s.stage, c)
  }
  return [...byStage.entries()].map(([stage, c]) => `${stage} ${c.done}/${c.done + c.running + c.queued + c.failed} done${c.running ? `, ${c.running} running` : ""}${c.failed ? `, ${c.failed} failed` : ""}`).join("; ")
}
