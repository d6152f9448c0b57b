import { Cause, Effect, Exit } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import type { BackendPref } from "@conceptscope/model-runners"
import type { StageJobData } from "./jobs.js"
import { runStageJob } from "./stage-job.js"

/**
 * The body of a worker thread of `conceptscope worker` (queue/thread-pool.ts starts it): runs one stage
 * job at a time off the main thread, whose event loop stays free to renew the jobs' locks in Redis.
 * In: { id, data }. Out: { id, ok: true, result } or { id, ok: false, error (one line), rejected }.
 */
export interface ThreadRequest {
  readonly id: number
  readonly data: StageJobData
}
export type ThreadReply =
  | { readonly id: number; readonly ok: true; readonly result: { key: string; cached: boolean; seconds: number } }
  | { readonly id: number; readonly ok: false; readonly error: string; readonly rejected: boolean }

const opts = workerData as { readonly store: string | null; readonly backend: BackendPref }
const port = parentPort
if (port === null) throw new Error("stage-thread.ts runs in a worker thread")
port.on("message", async (req: ThreadRequest) => {
  const exit = await Effect.runPromiseExit(runStageJob(req.data, opts))
  let reply: ThreadReply
  if (Exit.isSuccess(exit)) reply = { id: req.id, ok: true, result: exit.value }
  else {
    const failure = Cause.failureOption(exit.cause)
    const err = failure._tag === "Some" ? failure.value : Cause.squash(exit.cause)
    const message = err instanceof Error ? err.message : typeof (err as { message?: unknown }).message === "string" ? (err as { message: string }).message : String(err)
    reply = { id: req.id, ok: false, error: message.split("\n")[0], rejected: (err as { _tag?: string })._tag === "JobRejected" }
  }
  port.postMessage(reply)
})
