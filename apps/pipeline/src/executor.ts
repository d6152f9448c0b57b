import { Context, Effect, Layer } from "effect"

/**
 * Runs the cells of a sweep. The default runs them in this process with bounded concurrency; a
 * distributed executor (a job queue whose job id is the artifact key) can replace it without touching
 * the stages, since every stage commits its artifact atomically and a retry is a cache hit.
 */
export interface SweepExecutorService {
  readonly name: string
  readonly runAll: <A, E, R>(cells: ReadonlyArray<Effect.Effect<A, E, R>>) => Effect.Effect<A[], E, R>
}

export class SweepExecutor extends Context.Tag("@conceptscope/SweepExecutor")<SweepExecutor, SweepExecutorService>() {}

/**
 * In-process executor. Concurrency 1 by default: the tensor backends here (wasm, cpu) compute on the
 * JS thread, so parallel cells in one process only interleave; raise it for IO-bound stages.
 */
export const InProcessExecutor = (concurrency = 1) =>
  Layer.succeed(SweepExecutor, {
    name: `in-process (concurrency ${concurrency})`,
    runAll: (cells) => Effect.all(cells, { concurrency })
  })
