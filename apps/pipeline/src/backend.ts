import { initBackend, type BackendInfo, type BackendPref } from "@conceptscope/model-runners"
import { Context, Effect, Layer } from "effect"

/**
 * The tensor backend as a service: initialised once per process (tfjs-node-gpu > tfjs-node > wasm >
 * cpu, or as overridden), logged once, and recorded in every report.
 */
export class TensorBackend extends Context.Tag("@conceptscope/TensorBackend")<TensorBackend, BackendInfo>() {}

export const TensorBackendLive = (pref: BackendPref = "auto") =>
  Layer.effect(TensorBackend, Effect.promise(() => initBackend(pref)))
