import { taskDecodability } from "@conceptscope/probes"

const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length)

export interface TdOfRows {
  /** mean over the concepts (every label but the last, Null) of the per-class TD */
  readonly td: number
  readonly perClass: number[]
}

/**
 * Leave-one-out k-NN TD (taskDecodability) of rows X [n, d] with labels y over C labels, the last being
 * Null: the mean over the concepts and every class's value; k is capped at n - 1.
 */
export function tdOfRows(X: Float32Array, y: Int32Array, C: number, opts: { readonly k: number; readonly metric: "euclidean" | "cosine" }): TdOfRows {
  const r = taskDecodability(X, y, C, { ...opts, k: Math.min(opts.k, y.length - 1) })
  return { td: mean(r.perClass.slice(0, C - 1)), perClass: r.perClass }
}

/** The rows of X [n, d] that `keep` selects (by row index), with their labels. */
export function pickRows(X: Float32Array, y: Int32Array, d: number, keep: (row: number) => boolean): { X: Float32Array; y: Int32Array } {
  const idx: number[] = []
  for (let r = 0; r < y.length; r++) if (keep(r)) idx.push(r)
  const out = new Float32Array(idx.length * d)
  idx.forEach((r, j) => out.set(X.subarray(r * d, (r + 1) * d), j * d))
  return { X: out, y: Int32Array.from(idx.map((r) => y[r])) }
}
