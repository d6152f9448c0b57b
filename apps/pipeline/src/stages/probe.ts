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
 * TD by leave-one-out kNN (per concept and mean), the pairwise TD matrix (flattened [C*C]) and the
 * held-out accuracy of a linear probe. One row per (checkpoint, layer, position) in `td.parquet`.
 * Its metadata names the peak-TD layer at the final checkpoint for every position.
 */
export const ProbeParams = Schema.Struct({
  nConcepts: Schema.Int.pipe(Schema.positive()),
  k: Schema.Int.pipe(Schema.positive()),
  metric: Schema.Literal("euclidean", "cosine"),
  linearProbe: Schema.Boolean,
  seed: Schema.Int
})

/** The layer (blocks.l.hook_resid_post, l >= 0) with the highest TD at the final checkpoint, per position; earliest on ties. */
export const ProbeMeta = Schema.Struct({
  finalStep: Schema.Int,
  peakLayers: Schema.Array(Schema.Struct({ position: Schema.Int, layer: Schema.Int, td: Schema.Number }))
})

/** Per position: the layer >= 0 with the highest TD at `step` (earliest on ties). */
function peakLayers(rows: readonly Pick<TDRow, "step" | "layer" | "position" | "td">[], step: number) {
  const best = new Map<number, { position: number; layer: number; td: number }>()
  for (const r of rows) {
    if (r.step !== step || r.layer < 0) continue
    const b = best.get(r.position)
    if (!b || r.td > b.td || (r.td === b.td && r.layer < b.layer)) best.set(r.position, { position: r.position, layer: r.layer, td: r.td })
  }
  return [...best.values()].sort((a, b) => a.position - b.position)
}

export const probeStage = defineStage({
  name: "probe",
  version: "1",
  schemaVersion: 1,
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
      const records: (Record<string, unknown> & Pick<TDRow, "step" | "layer" | "position" | "td">)[] = []
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
            const lp = params.linearProbe ? linearProbe(X, labels, C, { seed: params.seed }).testAcc : NaN
            return { step: checkpoint, layer, position, td: td.td, per_concept: td.perClass, pairwise: pw.flat(), linear_probe_acc: lp }
          })
          records.push(row)
        }
        bar.tick(1, `step ${checkpoint} layer ${layer}`)
      }
      bar.done()
      yield* writeTable(dir, "td.parquet", tableFromRecords(TD_SPEC(C), records))
      const finalStep = Math.max(...records.map((r) => r.step))
      return { rowCount: records.length, meta: { finalStep, peakLayers: peakLayers(records, finalStep) } }
    })
})

