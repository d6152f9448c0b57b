import { Effect } from "effect"
import { taskDecodability, type TDOptions, type TDResult } from "./decodability.js"
import { ProbeComputeError, ProbeInputError } from "./errors.js"
import { linearProbe, type LinearProbeOptions, type LinearProbeResult } from "./linear-probe.js"
import { pairwiseTD } from "./pairwise.js"
import { pca2, type PCA2Options, type PCA2Result } from "./pca.js"
import { umap2, type Umap2Options } from "./umap.js"

type ProbeError = ProbeInputError | ProbeComputeError

/** Run a synchronous probe as an Effect: input errors stay typed, anything else becomes ProbeComputeError. */
const lift =
  <A extends unknown[], R>(fn: string, f: (...args: A) => R) =>
  (...args: A): Effect.Effect<R, ProbeError> =>
    Effect.try({
      try: () => f(...args),
      catch: (e) =>
        e instanceof ProbeInputError || e instanceof ProbeComputeError
          ? e
          : new ProbeComputeError({ fn, reason: e instanceof Error ? e.message : String(e), cause: e })
    })

/** Effect versions of the probes, for use inside pipeline stages. */
export const Probes = {
  taskDecodability: lift("taskDecodability", taskDecodability) as (
    X: Float32Array,
    labels: Int32Array,
    nClasses: number,
    opts?: TDOptions
  ) => Effect.Effect<TDResult, ProbeError>,
  pairwiseTD: lift("pairwiseTD", pairwiseTD) as (
    X: Float32Array,
    labels: Int32Array,
    nClasses: number,
    opts?: TDOptions
  ) => Effect.Effect<number[][], ProbeError>,
  linearProbe: lift("linearProbe", linearProbe) as (
    X: Float32Array,
    labels: Int32Array,
    nClasses: number,
    opts: LinearProbeOptions
  ) => Effect.Effect<LinearProbeResult, ProbeError>,
  pca2: lift("pca2", pca2) as (X: Float32Array, d: number, opts?: PCA2Options) => Effect.Effect<PCA2Result, ProbeError>,
  umap2: lift("umap2", umap2) as (X: Float32Array, d: number, opts: Umap2Options) => Effect.Effect<Float32Array, ProbeError>
}
