/**
 * Sampling sequences of a sparse linear regression mixture.
 *
 * Randomness: a root `Rng(seed)` forks four independent streams, "basis", "weights", "x" and
 * "noise", so that e.g. changing noiseVariance leaves every basis, w and x unchanged. Per
 * sequence, in order: basis (basis stream), w (weights stream: r normals, or one pool index),
 * K*D normals for x (x stream), K normals for the noise (noise stream, drawn even when
 * noiseVariance = 0). y_k is computed in float64 from the stored float32 x and w, plus noise,
 * then rounded to float32, so stored (x, w, y) are consistent to float32 rounding.
 *
 * `sampleSequences(params, { n, seed })` equals `makeBatchSampler(params, seed).next(n)`;
 * with `basisBalanced` the basis column is instead a shuffled list holding exactly n / nBases
 * of each basis.
 */
import { Rng } from "@conceptscope/core"
import { InvalidRequest, InvalidTaskParams } from "./errors.js"
import { drawFamilyWeight, familyValue } from "./families.js"
import { basisSupports } from "./masks.js"
import { assertTaskParams, type RegressionTaskParams } from "./params.js"

export interface RegressionBatch {
  readonly n: number
  readonly K: number
  readonly D: number
  readonly seqIds: Int32Array // [n]
  readonly basis: Int32Array // [n]
  readonly xs: Float32Array // [n, K, D]
  readonly ys: Float32Array // [n, K]
  readonly ws: Float32Array // [n, D]
}

export interface SampleOptions {
  readonly n: number
  readonly seed: number
  /** Exactly n / nBases sequences per basis, in shuffled order (n must be a multiple of nBases). */
  readonly basisBalanced?: boolean
}

export interface BatchSampler {
  readonly params: RegressionTaskParams
  /** A fresh batch; seqIds continue across calls (0, 1, 2, ... over the sampler's life). */
  next(batchSize: number): RegressionBatch
}

/**
 * The finite weight pool of `{ kind: "pool", size: M, seed }`: M vectors per basis, each r normals
 * times weightScale on the basis's coordinates, from `new Rng(seed).fork("weight-pool")`, drawn
 * basis by basis (for regression families: M draws of each family's prior, family by family); with
 * `normalize`, each rescaled to squared norm r * weightScale^2 (not for families, whose priors already
 * equalise the signal). Null for `{ kind: "fresh" }`; an error when the pool has no seed.
 */
export function weightPool(params: RegressionTaskParams): Float32Array /* [nBases, M, D] */ | null {
  const pool = params.weightPool
  if (pool.kind !== "pool") return null
  const { dim: D, nBases, rank: r, weightScale } = params
  const M = pool.size
  if (pool.seed === undefined)
    throw new InvalidTaskParams({ field: "weightPool.seed", reason: "a pool needs a seed (the pipeline derives one from the cell's seed)", value: undefined })
  const rng = new Rng(pool.seed).fork("weight-pool")
  const out = new Float32Array(nBases * M * D)
  if (params.families) {
    for (let b = 0; b < nBases; b++)
      for (let m = 0; m < M; m++) drawFamilyWeight(params.families[b], rng, D, r, weightScale, out.subarray((b * M + m) * D, (b * M + m + 1) * D))
    return out
  }
  const sup = basisSupports(params) // [nBases, r]
  for (let b = 0; b < nBases; b++)
    for (let m = 0; m < M; m++)
      for (let t = 0; t < r; t++) out[(b * M + m) * D + sup[b * r + t]] = weightScale * rng.normal()
  if (pool.normalize) {
    for (let v = 0; v < nBases * M; v++) {
      const w = out.subarray(v * D, (v + 1) * D) // [D]
      const norm = Math.sqrt(w.reduce((a, x) => a + x * x, 0))
      if (norm > 0) for (let j = 0; j < D; j++) w[j] *= (Math.sqrt(r) * weightScale) / norm
    }
  }
  return out
}

interface Streams {
  readonly basis: Rng
  readonly weights: Rng
  readonly x: Rng
  readonly noise: Rng
}

const forkStreams = (seed: number): Streams => {
  const root = new Rng(seed)
  return { basis: root.fork("basis"), weights: root.fork("weights"), x: root.fork("x"), noise: root.fork("noise") }
}

const checkCount = (field: string, n: number) => {
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidRequest({ field, reason: "must be a non-negative integer", value: n })
}

/** Draw w, x, y for sequences whose bases are given. */
function generate(
  params: RegressionTaskParams,
  supports: Int32Array, // [nBases, r]
  pool: Float32Array | null, // [nBases, M, D]
  streams: Streams,
  basis: Int32Array, // [n]
  firstId: number
): RegressionBatch {
  const n = basis.length
  const { dim: D, nExamples: K, rank: r, weightScale } = params
  const M = params.weightPool.kind === "pool" ? params.weightPool.size : 0
  const noiseStd = Math.sqrt(params.noiseVariance)
  const seqIds = new Int32Array(n)
  const xs = new Float32Array(n * K * D) // [n, K, D]
  const ys = new Float32Array(n * K) // [n, K]
  const ws = new Float32Array(n * D) // [n, D]
  for (let i = 0; i < n; i++) {
    seqIds[i] = firstId + i
    const b = basis[i]
    const wOff = i * D
    const family = params.families?.[b]
    if (pool === null && family !== undefined) {
      drawFamilyWeight(family, streams.weights, D, r, weightScale, ws.subarray(wOff, wOff + D))
    } else if (pool === null) {
      for (let t = 0; t < r; t++) ws[wOff + supports[b * r + t]] = weightScale * streams.weights.normal()
    } else {
      const m = streams.weights.int(M)
      ws.set(pool.subarray((b * M + m) * D, (b * M + m + 1) * D), wOff)
    }
    const xOff = i * K * D
    for (let j = 0; j < K * D; j++) xs[xOff + j] = streams.x.normal()
    for (let k = 0; k < K; k++) {
      if (family !== undefined) {
        ys[i * K + k] = familyValue(family, ws, wOff, xs, xOff + k * D, D) + noiseStd * streams.noise.normal()
        continue
      }
      let dot = 0
      for (let t = 0; t < r; t++) {
        const c = supports[b * r + t]
        dot += ws[wOff + c] * xs[xOff + k * D + c]
      }
      ys[i * K + k] = dot + noiseStd * streams.noise.normal()
    }
  }
  return { n, K, D, seqIds, basis, xs, ys, ws }
}

/** A streaming sampler for training: every `next` call gives fresh data, deterministic in `seed`. */
export function makeBatchSampler(params: RegressionTaskParams, seed: number): BatchSampler {
  const p = assertTaskParams(params)
  const supports = p.families ? new Int32Array(0) : basisSupports(p)
  const pool = weightPool(p)
  const streams = forkStreams(seed)
  let nextId = 0
  return {
    params: p,
    next(batchSize) {
      checkCount("batchSize", batchSize)
      const basis = new Int32Array(batchSize) // [n]
      for (let i = 0; i < batchSize; i++) basis[i] = streams.basis.int(p.nBases)
      const batch = generate(p, supports, pool, streams, basis, nextId)
      nextId += batchSize
      return batch
    }
  }
}

/** A fixed set of n sequences (evaluation or probe set). */
export function sampleSequences(params: RegressionTaskParams, options: SampleOptions): RegressionBatch {
  const { n, seed, basisBalanced = false } = options
  checkCount("n", n)
  if (!basisBalanced) return makeBatchSampler(params, seed).next(n)
  const p = assertTaskParams(params)
  if (n % p.nBases !== 0)
    throw new InvalidRequest({
      field: "n",
      reason: `basisBalanced needs n to be a multiple of nBases = ${p.nBases}`,
      value: n
    })
  const streams = forkStreams(seed)
  const basis = new Int32Array(n) // [n]
  for (let i = 0; i < n; i++) basis[i] = Math.floor((i * p.nBases) / n)
  for (let i = n - 1; i > 0; i--) {
    const j = streams.basis.int(i + 1)
    const t = basis[i]
    basis[i] = basis[j]
    basis[j] = t
  }
  return generate(p, p.families ? new Int32Array(0) : basisSupports(p), weightPool(p), streams, basis, 0)
}
