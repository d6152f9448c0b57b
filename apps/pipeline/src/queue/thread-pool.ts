import { Worker } from "node:worker_threads"
import type { BackendPref } from "@conceptscope/model-runners"
import type { StageJobData, StageJobResult } from "./jobs.js"
import type { ThreadReply } from "./stage-thread.js"

/** A stage job failed; `rejected` when no retry can help (BullMQ's UnrecoverableError). */
export class StageJobFailed extends Error {
  override readonly name = "StageJobFailed"
  constructor(
    message: string,
    readonly rejected: boolean
  ) {
    super(message)
  }
}

/**
 * Worker threads that run stage jobs, one job per thread at a time, started on first use and kept (a
 * thread keeps its tensor backend). They live and die with this process: a worker killed with kill -9
 * leaves no process behind still running its job. `entry` is the CLI's entry module; a thread started
 * from it runs queue/stage-thread.ts (main.ts dispatches on workerData.role).
 */
export class ThreadPool {
  private readonly idle: Worker[] = []
  private readonly all: Worker[] = []
  private next = 0

  constructor(
    private readonly entry: string,
    private readonly opts: { readonly store: string | null; readonly backend: BackendPref }
  ) {}

  run(data: StageJobData): Promise<StageJobResult> {
    const thread = this.idle.pop() ?? this.spawn()
    const id = this.next++
    return new Promise<StageJobResult>((resolve, reject) => {
      const onMessage = (reply: ThreadReply) => {
        if (reply.id !== id) return
        thread.off("message", onMessage)
        thread.off("error", onError)
        this.idle.push(thread)
        if (reply.ok) resolve(reply.result)
        else reject(new StageJobFailed(reply.error, reply.rejected))
      }
      const onError = (e: Error) => {
        thread.off("message", onMessage)
        this.all.splice(this.all.indexOf(thread), 1) // a thread that crashed is not reused
        reject(new StageJobFailed(`worker thread crashed: ${e.message.split("\n")[0]}`, false))
      }
      thread.on("message", onMessage)
      thread.once("error", onError)
      thread.postMessage({ id, data })
    })
  }

  private spawn(): Worker {
    const w = new Worker(this.entry, { workerData: { role: "conceptscope-stage-thread", ...this.opts } })
    this.all.push(w)
    return w
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()))
  }
}
