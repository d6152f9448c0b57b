import { Queue } from "bullmq"
import { Effect } from "effect"
import { queueName, STAGE_KINDS, type StageJobData } from "./jobs.js"
import { checkRedis, RedisError, redisClient } from "./redis.js"

const COUNTS = ["waiting", "waiting-children", "delayed", "active", "completed", "failed"] as const

/**
 * `conceptscope status --redis URL`: per queue, the job counts, the running jobs with the worker that
 * holds each, the connected workers, and the failed jobs with their one-line errors (the last `failures`; the
 * jobs that failed because a job before them did are counted, not listed).
 */
export const queueStatus = (redis: string, failures = 10) =>
  Effect.gen(function* () {
    yield* checkRedis(redis)
    return yield* Effect.tryPromise({
      try: async () => {
        const lines: string[] = []
        const connection = redisClient(redis)
        for (const kind of STAGE_KINDS) {
          const q = new Queue(queueName(kind), { connection })
          try {
            const counts = await q.getJobCounts(...COUNTS)
            lines.push(`${queueName(kind)}: ${COUNTS.map((c) => `${counts[c] ?? 0} ${c}`).join(", ")}`)
            const workers = await q.getWorkers()
            // BullMQ's client name is <queue key>:w:<worker name>; `name` holds the queue's
            const workerName = (w: { [k: string]: string }) => w.rawname?.split(":w:")[1] ?? w.addr ?? "?"
            lines.push(`  workers: ${workers.length === 0 ? "none" : [...new Set(workers.map(workerName))].join(", ")}`)
            for (const j of await q.getActive()) {
              const d = j.data as StageJobData
              lines.push(`  running ${j.id} (${d.stage}, ${d.label ? `${d.label}, ` : ""}seed ${d.seed}) on ${j.processedBy ?? "?"} since ${new Date(j.processedOn ?? 0).toISOString()}, attempt ${j.attemptsStarted}`)
            }
            // a job whose upstream job failed (failParentOnFailure) is counted with it, not listed
            const failed = await q.getFailed(0, 20 * failures - 1)
            const upstream = failed.filter((j) => /^child \S+ failed$/.test(j.failedReason ?? ""))
            for (const j of failed.filter((j) => !upstream.includes(j)).slice(0, failures)) {
              const d = j.data as StageJobData
              lines.push(`  failed ${j.id} (${d.stage}, ${d.label ? `${d.label}, ` : ""}seed ${d.seed}) after ${j.attemptsMade} attempt(s): ${(j.failedReason ?? "").split("\n")[0]}`)
            }
            if (upstream.length > 0) lines.push(`  ${upstream.length} later stage job(s) not run because a stage before them failed`)
          } finally {
            await q.close()
          }
        }
        await connection.quit().catch(() => undefined)
        return lines
      },
      catch: (e) => new RedisError({ url: redis, reason: e instanceof Error ? e.message.split("\n")[0] : String(e) })
    })
  })
