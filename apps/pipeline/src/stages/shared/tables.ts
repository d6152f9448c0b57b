import { type ArtifactRef, getColumn, recordsFromTable } from "@conceptscope/artifacts"
import { Effect } from "effect"
import type { Embedding, PatchingResult } from "@conceptscope/reporters"
import { readArtifactTable, readRecords, type RecordOf } from "./io.js"

/**
 * The tables the synthetic stages write, and their readers: each stage writes its table with the spec
 * named here, and the report (or a user) reads it back with the reader, so an artifact's format lives
 * in one place.
 */

/** `curves.parquet` of the evaluate stage: one row per (step, basis, k). */
export const CURVES_SPEC = { step: "int32", basis: "int32", k: "int32", mse: "float64", nmse: "float64" } as const

export type CurvePoint = RecordOf<typeof CURVES_SPEC>

export const readTrainingCurves = (ref: ArtifactRef) => readRecords(ref, "curves.parquet", CURVES_SPEC)

/**
 * `td.parquet` of the probe stage: one row per (checkpoint, layer, position); td / per_concept on all
 * probe sequences, td_selection on the selection split, td_heldout / per_concept_heldout on the held-out
 * split, group_td with basis groups as labels (NaN without groups); pairwise is [C*C] row-major.
 */
export const TD_SPEC = (nConcepts: number) =>
  ({
    step: "int32",
    layer: "int32",
    position: "int32",
    td: "float64",
    per_concept: { vector: nConcepts },
    td_selection: "float64",
    td_heldout: "float64",
    per_concept_heldout: { vector: nConcepts },
    group_td: "float64",
    pairwise: { vector: nConcepts * nConcepts },
    linear_probe_acc: "float64"
  }) as const

export interface TDRow {
  readonly step: number
  readonly layer: number
  readonly position: number
  readonly td: number
  readonly perConcept: number[]
  readonly tdSelection: number
  readonly tdHeldOut: number
  readonly perConceptHeldOut: number[]
  readonly groupTd: number
  readonly pairwise: number[][]
  readonly linearProbeAcc: number
}

export const readTD = (ref: ArtifactRef) =>
  readArtifactTable(ref, "td.parquet", (t, file): TDRow[] => {
    const C = getColumn(t, "per_concept", "vector", file).dim
    return recordsFromTable(t).map((r) => {
      const flat = r.pairwise as number[]
      return {
        step: r.step as number,
        layer: r.layer as number,
        position: r.position as number,
        td: r.td as number,
        perConcept: r.per_concept as number[],
        tdSelection: r.td_selection as number,
        tdHeldOut: r.td_heldout as number,
        perConceptHeldOut: r.per_concept_heldout as number[],
        groupTd: r.group_td as number,
        pairwise: Array.from({ length: C }, (_, i) => flat.slice(i * C, (i + 1) * C)),
        linearProbeAcc: r.linear_probe_acc as number
      }
    })
  })

/** `embeddings.parquet` of the embed stage: one row per (checkpoint, method, point). */
export const EMBEDDINGS_SPEC = { step: "int32", phase: "string", method: "string", x: "float32", y: "float32", concept: "int32", seq_id: "int32" } as const

export const readEmbeddings = (ref: ArtifactRef) =>
  readRecords(ref, "embeddings.parquet", EMBEDDINGS_SPEC).pipe(
    Effect.map((rows) => {
      const sets = new Map<string, Embedding>()
      for (const r of rows) {
        const key = `${r.step}:${r.method}`
        let set = sets.get(key)
        if (!set) sets.set(key, (set = { step: r.step, phase: r.phase as Embedding["phase"], method: r.method as Embedding["method"], points: [] }))
        set.points.push({ x: r.x, y: r.y, concept: r.concept })
      }
      return [...sets.values()]
    })
  )

/** `patching.parquet` of the patch stage: one row per (checkpoint, layer, source, target); target -1 = unpatched. */
export const PATCHING_SPEC = { step: "int32", phase: "string", layer: "int32", source: "int32", target: "int32", nmse: "float64" } as const

export const readPatching = (ref: ArtifactRef) =>
  readRecords(ref, "patching.parquet", PATCHING_SPEC).pipe(
    Effect.map((rows) => {
      const C = rows.reduce((m, r) => Math.max(m, r.source + 1), 0)
      const byStep = new Map<string, PatchingResult>()
      for (const r of rows) {
        const key = `${r.step}/${r.layer}`
        let m = byStep.get(key)
        if (!m) {
          m = { step: r.step, phase: r.phase as PatchingResult["phase"], layer: r.layer, matrix: Array.from({ length: C }, () => new Array(C).fill(NaN)), unpatched: new Array(C).fill(NaN) }
          byStep.set(key, m)
        }
        if (r.target < 0) m.unpatched[r.source] = r.nmse
        else m.matrix[r.source][r.target] = r.nmse
      }
      return [...byStep.values()].sort((a, b) => a.step - b.step || a.layer - b.layer)
    })
  )

/** `errors.parquet` of the curves stage: one row per (method, basis, k); basis -1 pools all sequences; nmse = mse / mean y^2. */
export const ERRORS_SPEC = { method: "string", basis: "int32", k: "int32", nmse: "float64" } as const

export type ErrorCurveRow = RecordOf<typeof ERRORS_SPEC>

/** Method names of the references in `errors.parquet`; the model's rows are `modelMethod(phase, step)`. */
export const METHOD = {
  leastSquares: "least squares",
  bayesOracle: "bayes oracle (knows the basis)",
  bayesOptimal: "bayes-optimal (task prior)"
} as const

export const modelMethod = (phase: string, step: number) => `model (${phase}, step ${step})`

export const readErrorCurves = (ref: ArtifactRef) => readRecords(ref, "errors.parquet", ERRORS_SPEC)
