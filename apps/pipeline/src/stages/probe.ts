import { type ArtifactRef, defineStage, tableFromRecords } from "@conceptscope/artifacts"
import { ActivationReader } from "@conceptscope/activation-store"
import { progress } from "@conceptscope/core"
import { linearProbe, pairwiseTD, taskDecodability } from "@conceptscope/probes"
import { Effect, Schema } from "effect"
import { useTensorBackend } from "../backend.js"
import { stagePromise, stageTry, writeTable } from "./shared/io.js"
import { TD_SPEC, type TDRow } from "./shared/tables.js"

/**
 * Decodability of the concept at every (checkpoint, layer, position) of an activation artifact:
 * TD by leave-one-out kNN (per concept and mean) on all probe sequences, on the selection split and on
 * the held-out split (each concept's first `selectionFraction` of sequences select, the rest are held
 * out), the pairwise TD matrix (flattened [C*C]), the TD of basis groups (when `groups` maps bases to
 * groups) and the held-out accuracy of a linear probe. One row per (checkpoint, layer, position) in
 * `td.parquet`. Its metadata names, per position, the layer chosen on the selection split at the final
 * checkpoint (never the last layer at a y token, whose output there nothing reads) and the peak layer on
 * all sequences.
 */
export const ProbeParams = Schema.Struct({
  nConcepts: Schema.Int.pipe(Schema.positive()),
  k: Schema.Int.pipe(Schema.positive()),
  metric: Schema.Literal("euclidean", "cosine"),
  linearProbe: Schema.Boolean,
  selectionFraction: Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThan(1)),
  /** [concept] group of each basis (overlapping layout), or null. */
  groups: Schema.NullOr(Schema.Array(Schema.Int.pipe(Schema.nonNegative()))),
  nLayers: Schema.Int.pipe(Schema.positive()),
  seed: Schema.Int
})

const LayerAt = Schema.Struct({ position: Schema.Int, layer: Schema.Int, td: Schema.Number })

export const ProbeMeta = Schema.Struct({
  finalStep: Schema.Int,
  /** Per position: the layer with the highest selection-split TD at the final checkpoint (earliest on ties). */
  selectedLayers: Schema.Array(LayerAt),
  /** Per position: the layer with the highest TD on all sequences at the final checkpoint (for reference only). */
  peakLayers: Schema.Array(LayerAt)
})

/** Per position: the layer >= 0 (below `maxLayerAt(position)`) with the highest `value` at `step`; earliest on ties. */
function bestLayers<R extends Pick<TDRow, "step" | "layer" | "position">>(rows: readonly R[], step: number, value: (r: R) => number, allowed: (r: R) => boolean) {
  const best = new Map<number, { position: number; layer: number; td: number }>()
  for (const r of rows) {
    if (r.step !== step || r.layer < 0 || !allowed(r)) continue
    const b = best.get(r.position)
    const v = value(r)
    if (!b || v > b.td || (v === b.td && r.layer < b.layer)) best.set(r.position, { position: r.position, layer: r.layer, td: v })
  }
  return [...best.values()].sort((a, b) => a.position - b.position)
}

/** Rows of X [n, d] (and their labels) at the listed indices. */
function subset(X: Float32Array, labels: Int32Array, d: number, idx: readonly number[]) {
  const Xs = new Float32Array(idx.length * d) // [m, d]
  const ls = new Int32Array(idx.length) // [m]
  idx.forEach((i, j) => {
    Xs.set(X.subarray(i * d, (i + 1) * d), j * d)
    ls[j] = labels[i]
  })
  return { X: Xs, labels: ls }
}

/** Each concept's first `fraction` of points (in index order) select; the rest are held out. */
export function splitByConcept(labels: Int32Array, C: number, fraction: number): { selection: number[]; heldOut: number[] } {
  const byConcept: number[][] = Array.from({ length: C }, () => [])
  labels.forEach((c, i) => byConcept[c].push(i))
  const selection: number[] = []
  const heldOut: number[] = []
  for (const idx of byConcept) {
    const m = Math.floor(idx.length * fraction)
    selection.push(...idx.slice(0, m))
    heldOut.push(...idx.slice(m))
  }
  return { selection: selection.sort((a, b) => a - b), heldOut: heldOut.sort((a, b) => a - b) }
}

export const probeStage = defineStage({
  name: "probe",
  version: "2",
  schemaVersion: 2,
  params: ProbeParams,
  meta: ProbeMeta,
  run: ({ params, inputs, dir }: { params: typeof ProbeParams.Type; inputs: { extract: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      yield* useTensorBackend // distances and the linear probe run on tfjs
      const reader = yield* stagePromise("probe", () => ActivationReader.open(inputs.extract.dir))
      const cells = new Map<string, { checkpoint: number; layer: number }>()
      for (const s of reader.index.shards) cells.set(`${s.checkpoint}:${s.layer}`, { checkpoint: s.checkpoint, layer: s.layer })
      const C = params.nConcepts
      const opts = { k: params.k, metric: params.metric }
      const records: (Record<string, unknown> & Pick<TDRow, "step" | "layer" | "position" | "td"> & { td_selection: number })[] = []
      const bar = progress("probe", cells.size)
      for (const { checkpoint, layer } of [...cells.values()].sort((a, b) => a.checkpoint - b.checkpoint || a.layer - b.layer)) {
        const slice = yield* stagePromise("probe", () => reader.read({ checkpoint, layer }))
        for (const position of [...new Set(slice.positions)].sort((a, b) => a - b)) {
          const idx: number[] = []
          for (let i = 0; i < slice.n; i++) if (slice.positions[i] === position) idx.push(i)
          const d = slice.dModel
          const X = new Float32Array(idx.length * d) // [n, d]
          const labels = new Int32Array(idx.length) // [n]
          idx.forEach((i, j) => {
            X.set(slice.vectors.subarray(i * d, (i + 1) * d), j * d)
            labels[j] = slice.concepts[i]
          })
          const row = yield* stageTry("probe", () => {
            const td = taskDecodability(X, labels, C, opts)
            const pw = pairwiseTD(X, labels, C, opts)
            const { selection, heldOut } = splitByConcept(labels, C, params.selectionFraction)
            const sel = subset(X, labels, d, selection)
            const held = subset(X, labels, d, heldOut)
            const tdSel = taskDecodability(sel.X, sel.labels, C, opts)
            const tdHeld = taskDecodability(held.X, held.labels, C, opts)
            const G = params.groups ? Math.max(...params.groups) + 1 : 0
            const groupTd = params.groups ? taskDecodability(X, labels.map((c) => params.groups![c]), G, opts).td : NaN
            const lp = params.linearProbe ? linearProbe(X, labels, C, { seed: params.seed }).testAcc : NaN
            return {
              step: checkpoint,
              layer,
              position,
              td: td.td,
              per_concept: td.perClass,
              td_selection: tdSel.td,
              td_heldout: tdHeld.td,
              per_concept_heldout: tdHeld.perClass,
              group_td: groupTd,
              pairwise: pw.flat(),
              linear_probe_acc: lp
            }
          })
          records.push(row)
        }
        bar.tick(1, `step ${checkpoint} layer ${layer}`)
      }
      bar.done()
      yield* writeTable(dir, "td.parquet", tableFromRecords(TD_SPEC(C), records))
      const finalStep = Math.max(...records.map((r) => r.step))
      // at a y token (odd position) the last layer's output is read by nothing
      const readable = (r: { layer: number; position: number }) => !(r.position % 2 === 1 && r.layer === params.nLayers - 1 && params.nLayers > 1)
      return {
        rowCount: records.length,
        meta: {
          finalStep,
          selectedLayers: bestLayers(records, finalStep, (r) => r.td_selection, readable),
          peakLayers: bestLayers(records, finalStep, (r) => r.td, () => true)
        }
      }
    })
})

