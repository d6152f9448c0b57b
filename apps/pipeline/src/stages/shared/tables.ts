import { type ArtifactRef, getColumn, recordsFromTable } from "@conceptscope/artifacts"
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

/** `td.parquet` of the probe stage: one row per (checkpoint, layer, position); pairwise is [C*C] row-major. */
export const TD_SPEC = (nConcepts: number) =>
  ({
    step: "int32",
    layer: "int32",
    position: "int32",
    td: "float64",
    per_concept: { vector: nConcepts },
    pairwise: { vector: nConcepts * nConcepts },
    linear_probe_acc: "float64"
  }) as const

export interface TDRow {
  readonly step: number
  readonly layer: number
  readonly position: number
  readonly td: number
  readonly perConcept: number[]
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
        pairwise: Array.from({ length: C }, (_, i) => flat.slice(i * C, (i + 1) * C)),
        linearProbeAcc: r.linear_probe_acc as number
      }
    })
  })

/** `embeddings.parquet` of the embed stage: one row per (checkpoint, method, point). */
export const EMBEDDINGS_SPEC = { step: "int32", phase: "string", method: "string", x: "float32", y: "float32", concept: "int32", seq_id: "int32" } as const

export const readEmbeddings = (ref: ArtifactRef) =>
  readArtifactTable(ref, "embeddings.parquet", (t, file): Embedding[] => {
    const step = getColumn(t, "step", "int32", file).data
    const phase = getColumn(t, "phase", "string", file).data
    const method = getColumn(t, "method", "string", file).data
    const x = getColumn(t, "x", "float32", file).data
    const y = getColumn(t, "y", "float32", file).data
    const concept = getColumn(t, "concept", "int32", file).data
    const sets = new Map<string, Embedding>()
    for (let i = 0; i < t.numRows; i++) {
      const key = `${step[i]}:${method[i]}`
      let set = sets.get(key)
      if (!set) {
        set = { step: step[i], phase: phase[i] as Embedding["phase"], method: method[i] as Embedding["method"], points: [] }
        sets.set(key, set)
      }
      set.points.push({ x: x[i], y: y[i], concept: concept[i] })
    }
    return [...sets.values()]
  })

/** `patching.parquet` of the patch stage: one row per (checkpoint, layer, source, target); target -1 = unpatched. */
export const PATCHING_SPEC = { step: "int32", phase: "string", layer: "int32", source: "int32", target: "int32", nmse: "float64" } as const

export const readPatching = (ref: ArtifactRef) =>
  readArtifactTable(ref, "patching.parquet", (t, file): PatchingResult[] => {
    const step = getColumn(t, "step", "int32", file).data
    const phase = getColumn(t, "phase", "string", file).data
    const layer = getColumn(t, "layer", "int32", file).data
    const source = getColumn(t, "source", "int32", file).data
    const target = getColumn(t, "target", "int32", file).data
    const nmse = getColumn(t, "nmse", "float64", file).data
    let C = 0
    for (let i = 0; i < t.numRows; i++) C = Math.max(C, source[i] + 1)
    const byStep = new Map<string, PatchingResult>()
    for (let i = 0; i < t.numRows; i++) {
      const key = `${step[i]}/${layer[i]}`
      let r = byStep.get(key)
      if (!r) {
        r = { step: step[i], phase: phase[i] as PatchingResult["phase"], layer: layer[i], matrix: Array.from({ length: C }, () => new Array(C).fill(NaN)), unpatched: new Array(C).fill(NaN) }
        byStep.set(key, r)
      }
      if (target[i] < 0) r.unpatched[source[i]] = nmse[i]
      else r.matrix[source[i]][target[i]] = nmse[i]
    }
    return [...byStep.values()].sort((a, b) => a.step - b.step || a.layer - b.layer)
  })

/** `errors.parquet` of the curves stage: one row per (method, basis, k); basis -1 pools all sequences; nmse = mse / mean y^2. */
export const ERRORS_SPEC = { method: "string", basis: "int32", k: "int32", nmse: "float64" } as const

export type ErrorCurveRow = RecordOf<typeof ERRORS_SPEC>

export const readErrorCurves = (ref: ArtifactRef) => readRecords(ref, "errors.parquet", ERRORS_SPEC)
