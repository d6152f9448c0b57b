import { note } from "@conceptscope/core"
import type { BackendPref } from "@conceptscope/model-runners"
import { type Job, UnrecoverableError, Worker } from "bullmq"
import { Effect } from "effect"
import * as os from "node:os"
import { queueName, type StageJobData, type StageJobResult } from "./jobs.js"
import type { StageKind } from "./plan.js"
import { checkRedis, redisClient } from "./redis.js"
import { StageJobFailed, ThreadPool } from "./thread-pool.js"

export interface WorkerOptions {
  readonly redis: string
  readonly store: string | null
  readonly queues: readonly StageKind[]
  /** jobs at once per queue */
  readonly concurrency: number
  readonly backend: BackendPref
  /** BullMQ lock duration and stalled-check interval: a dead worker's job runs again after about this long */
  readonly lockMs: number
  readonly name: string
  /** the CLI's entry module, which the stage threads start from */
  readonly entry: string
}

export const defaultWorkerName = () => `${os.hostname()}:${process.pid}`

const describe = (job: Job<StageJobData>) => `${job.id} (${job.data.stage}, ${job.data.label ? `${job.data.label}, ` : ""}seed ${job.data.seed}, attempt ${job.attemptsStarted})`

/**
 * `conceptscope worker`: consume stage jobs from the named queues until SIGINT or SIGTERM (then finish
 * the running jobs and exit). Each job runs on a worker thread (queue/thread-pool.ts), so this thread
 * keeps renewing the job's lock; if the process dies the lock lapses after `lockMs`, a surviving worker's
 * stalled check puts the job back, and it runs again there (a cache hit if it had committed, else from
 * its last checkpoint). A failing job is retried with backoff; a job no retry can help (another build's
 * code, a rejected config) fails at once with its one-line reason.
 */
export const runWorker = (o: WorkerOptions) =>
  Effect.gen(function* () {
    const version = yield* checkRedis(o.redis)
    const pool = new ThreadPool(o.entry, { store: o.store, backend: o.backend })
    const processor = async (job: Job<StageJobData>): Promise<StageJobResult> => {
      note("worker", `${describe(job)} started`)
      try {
        const r = await pool.run(job.data)
        note("worker", `${job.id} ${r.cached ? "was a cache hit" : `computed in ${r.seconds.toFixed(1)} s`}: ${job.data.stage}/${r.key}`)
        return r
      } catch (e) {
        const err = e instanceof StageJobFailed ? e : new StageJobFailed(e instanceof Error ? e.message : String(e), false)
        note("worker", `${describe(job)} failed: ${err.message}`)
        throw err.rejected ? new UnrecoverableError(err.message) : new Error(err.message)
      }
    }
    const connection = redisClient(o.redis)
    const workers = o.queues.map(
      (kind) =>
        new Worker<StageJobData, StageJobResult>(queueName(kind), processor, {
          connection,
          concurrency: o.concurrency,
          lockDuration: o.lockMs,
          stalledInterval: o.lockMs,
          maxStalledCount: 2,
          name: o.name
        })
    )
    for (const w of workers) w.on("error", (e) => note("worker", `queue connection: ${e.message.split("\n")[0]}`))
    note("worker", `${o.name} on ${o.queues.map(queueName).join(", ")} (Redis ${version} at ${o.redis}), ${o.concurrency} job(s) at once per queue, store ${o.store ?? "per config (.conceptscope/store/<config name>)"}`)
    const signal = yield* Effect.async<string>((resume) => {
      const stop = (s: string) => () => resume(Effect.succeed(s))
      process.once("SIGINT", stop("SIGINT"))
      process.once("SIGTERM", stop("SIGTERM"))
    })
    note("worker", `${signal}: finishing the running jobs`)
    yield* Effect.promise(() => Promise.all(workers.map((w) => w.close())))
    yield* Effect.promise(() => pool.close())
    yield* Effect.promise(() => connection.quit().catch(() => undefined))
  })
