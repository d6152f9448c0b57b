import { type BackendInfo, type BackendPref, initBackend } from "@conceptscope/model-runners"
import { Context, Data, Effect, Layer } from "effect"

/** The tensor backend could not be started. */
export class BackendStartError extends Data.TaggedError("BackendStartError")<{ readonly preference: string; readonly reason: string }> {
  override get message() {
    return `backend ${this.preference}: ${this.reason}`
  }
}

/**
 * The tensor backend as a service: started on first use, once per process (tfjs-node-gpu > webgpu on a GPU > tfjs-node >
 * wasm > cpu, or as overridden), and recorded by every stage that computes with it. A sweep whose
 * stages are all cached never starts it.
 */
export class TensorBackend extends Context.Tag("@conceptscope/TensorBackend")<TensorBackend, { readonly start: Effect.Effect<BackendInfo, BackendStartError> }>() {}

export const TensorBackendLive = (pref: BackendPref = "auto") =>
  Layer.effect(
    TensorBackend,
    Effect.map(
      Effect.cached(
        Effect.tryPromise({
          try: () => initBackend(pref),
          catch: (e) => {
            const reason = typeof (e as { reason?: unknown }).reason === "string" ? (e as { reason: string }).reason : e instanceof Error ? e.message : String(e)
            return new BackendStartError({ preference: pref, reason: reason.split("\n")[0] })
          }
        })
      ),
      (start) => ({ start })
    )
  )

/** Start (or reuse) the tensor backend. */
export const useTensorBackend = Effect.flatMap(TensorBackend, (b) => b.start)
