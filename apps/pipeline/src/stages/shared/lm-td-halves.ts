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

/**
 * Per layer (one hook each): the mean concept TD on the selection half of the items (items < half) and the
 * held-out per-concept TD on the other half, as lm-td splits them; `ownPeak` is the layer index with the
 * best selection TD.
 */
export function tdByLayerHalves(
  vectors: ReadonlyMap<string, Float32Array>,
  hooks: readonly string[],
  y: Int32Array,
  items: readonly number[],
  half: number,
  d: number,
  C: number,
  opts: { readonly k: number; readonly metric: "euclidean" | "cosine" }
): { byLayer: { selection: number; heldout: number[] }[]; ownPeak: number } {
  const byLayer = hooks.map((h) => {
    const X = vectors.get(h)!
    const sel = pickRows(X, y, d, (r) => items[r] < half)
    const held = pickRows(X, y, d, (r) => items[r] >= half)
    return { selection: tdOfRows(sel.X, sel.y, C, opts).td, heldout: tdOfRows(held.X, held.y, C, opts).perClass.slice(0, C - 1) }
  })
  return { byLayer, ownPeak: byLayer.reduce((best, l, i) => (l.selection > byLayer[best].selection ? i : best), 0) }
}

/** Accuracy per concept (label indices 0..nConcepts-1) of `correct[j]` for prompt rows `rows[j]` with labels `labelOf`. */
export function accuracyByConcept(correct: readonly boolean[], rows: readonly number[], labelOf: (row: number) => number, nConcepts: number): number[] {
  return Array.from({ length: nConcepts }, (_, c) => {
    const mine = rows.map((r, j) => [r, j] as const).filter(([r]) => labelOf(r) === c)
    return mine.filter(([, j]) => correct[j]).length / Math.max(1, mine.length)
  })
}
