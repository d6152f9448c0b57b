import type { HookName, Intervention } from "@conceptscope/core"
import { row } from "./concept-means.js"
import { conceptSubspace, subspaceShift } from "./concept-subspace.js"

/**
 * How a source sequence's activation is moved towards a target concept at the patched positions:
 * - "replace":   a <- mean_target                        (the study's patching)
 * - "add":       a <- a + mean_target                    (task-vector addition)
 * - "mean-diff": a <- a + (mean_target - mean_source)    (shift by the difference of concept means)
 * - "subspace":  a <- a + Q^T Q (mean_target - a)        (a's coordinates in the span of the centred
 *                concept means set to the target mean's; the rest of a kept: see concept-subspace.ts)
 * - "fisher":    the same in the discriminant subspace (Fisher directions; needs `within`)
 * The last two need each source row's own activation (`sourceRows`).
 */
export type PatchMode = "replace" | "add" | "mean-diff" | "subspace" | "fisher"

/**
 * Per-position concept means at one hook: means[p] is Float32Array [nConcepts, d] for position positions[p].
 */
export interface PositionedMeans {
  readonly hook: HookName
  readonly positions: readonly number[]
  readonly d: number
  readonly means: readonly Float32Array[]
  /** per position, the within-concept covariance [d, d] (the fisher mode's discriminant directions need it) */
  readonly within?: readonly Float64Array[]
}

/** Per position p, the unpatched activations of one source concept's rows at the hook: [nRows, d]. */
export type SourceRows = readonly Float32Array[]

/**
 * The interventions that patch source-concept rows towards `target`: one per patched position, or for
 * "subspace" one per (position, row), each restricted to its batch row.
 */
export function patchInterventions(m: PositionedMeans, source: number, target: number, mode: PatchMode, sourceRows?: SourceRows): Intervention[] {
  if (mode === "subspace" || mode === "fisher") {
    if (!sourceRows) throw new Error(`patchInterventions: the ${mode} mode needs the source rows' activations`)
    if (mode === "fisher" && !m.within) throw new Error("patchInterventions: the fisher mode needs the within-concept covariances")
    return m.positions.flatMap((pos, p) => {
      const C = m.means[p].length / m.d
      const Q = conceptSubspace(m.means[p], C, m.d, mode === "fisher" ? { within: m.within![p] } : {})
      const tgt = m.means[p].subarray(target * m.d, (target + 1) * m.d)
      const rows = sourceRows[p]
      const n = rows.length / m.d
      return Array.from({ length: n }, (_, b) => ({
        hook: m.hook,
        positions: [pos],
        op: "add" as const,
        batch: [b],
        vector: subspaceShift(Q, m.d, tgt, rows.subarray(b * m.d, (b + 1) * m.d))
      }))
    })
  }
  return m.positions.map((pos, p) => {
    const tgt = row(m.means[p], target, m.d)
    if (mode === "replace") return { hook: m.hook, positions: [pos], op: "replace" as const, vector: tgt }
    if (mode === "add") return { hook: m.hook, positions: [pos], op: "add" as const, vector: tgt }
    const src = row(m.means[p], source, m.d)
    return { hook: m.hook, positions: [pos], op: "add" as const, vector: tgt.map((t, j) => t - src[j]) }
  })
}

/**
 * The port through which patching runs a model: given interventions (possibly none), return the
 * model's predictions for the rows of one source concept. Any runner can implement it.
 */
export type PatchRunner = (source: number, interventions: readonly Intervention[]) => Promise<Float32Array>

/** Scores predictions of one source concept's rows, e.g. normalised MSE at the scored positions. */
export type PatchScore = (source: number, preds: Float32Array) => number

export interface PatchingMatrix {
  /** [source][target] score after patching source rows towards target. */
  readonly matrix: number[][]
  /** [source] score without any intervention. */
  readonly unpatched: number[]
  readonly diagonalMean: number
  readonly offDiagonalMean: number
}

/** Run every source x target patch (plus the unpatched baseline per source) and score it. */
export async function patchingMatrix(
  m: PositionedMeans,
  nConcepts: number,
  mode: PatchMode,
  run: PatchRunner,
  score: PatchScore,
  onCell?: () => void,
  /** the source rows' unpatched activations per position (the subspace mode needs them) */
  sourceRows?: (source: number) => SourceRows
): Promise<PatchingMatrix> {
  const matrix: number[][] = []
  const unpatched: number[] = []
  for (let s = 0; s < nConcepts; s++) {
    unpatched.push(score(s, await run(s, [])))
    const rowScores: number[] = []
    for (let t = 0; t < nConcepts; t++) {
      rowScores.push(score(s, await run(s, patchInterventions(m, s, t, mode, sourceRows?.(s)))))
      onCell?.()
    }
    matrix.push(rowScores)
  }
  return { matrix, unpatched, ...diagonalStats(matrix) }
}

export function diagonalStats(matrix: readonly (readonly number[])[]): { diagonalMean: number; offDiagonalMean: number } {
  let diag = 0
  let off = 0
  let nOff = 0
  const n = matrix.length
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      if (i === j) diag += matrix[i][j]
      else {
        off += matrix[i][j]
        nOff++
      }
    }
  return { diagonalMean: n ? diag / n : NaN, offDiagonalMean: nOff ? off / nOff : NaN }
}
