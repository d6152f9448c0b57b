import { UMAP } from "umap-js"
import { Rng } from "@conceptscope/core"
import { checkPositiveInt, checkRange, checkShaped, fail } from "./validate.js"

export interface Umap2Options {
  /** Seeds every random choice umap-js makes (its `random` option is fed by Rng(seed)). */
  readonly seed: number
  /** Size of the local neighbourhood (default 15, the study's choice); clamped to n - 1. */
  readonly nNeighbors?: number
  /** Minimum distance between embedded points (default 0.1, the study's choice). */
  readonly minDist?: number
  /** Optimisation epochs (default: umap-js's choice from n). */
  readonly nEpochs?: number
}

/**
 * UMAP to two dimensions with umap-js (Euclidean input distance). Same seed and same input give the
 * same coordinates. umap-js is plain JS: for wide inputs (thousands of dims) reduce first
 * (e.g. PCA to 50) if time matters.
 */
export function umap2(X: Float32Array /* [n, d] */, d: number, opts: Umap2Options): Float32Array /* [n, 2] */ {
  const fn = "umap2"
  const { n } = checkShaped(fn, X, d, 3)
  if (!Number.isFinite(opts?.seed)) fail(fn, "seed", `must be a number, got ${opts?.seed}`)
  const nNeighbors = Math.min(checkPositiveInt(fn, "nNeighbors", opts.nNeighbors ?? 15), n - 1)
  const minDist = checkRange(fn, "minDist", opts.minDist ?? 0.1, 0, Infinity)
  const rng = new Rng(opts.seed)
  const rows: number[][] = Array.from({ length: n }, (_, i) => Array.from(X.subarray(i * d, (i + 1) * d)))
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.max(2, nNeighbors),
    minDist,
    ...(opts.nEpochs !== undefined ? { nEpochs: checkPositiveInt(fn, "nEpochs", opts.nEpochs) } : {}),
    random: () => rng.uniform()
  })
  const embedding = umap.fit(rows) // [n][2]
  const out = new Float32Array(n * 2)
  embedding.forEach((p, i) => {
    out[i * 2] = p[0]
    out[i * 2 + 1] = p[1]
  })
  return out
}
