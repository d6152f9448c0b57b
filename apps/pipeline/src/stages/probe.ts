import { defineStage, getColumn, recordsFromTable, tableFromRecords, type ArtifactRef } from "@conceptscope/artifacts"
import { ActivationReader } from "@conceptscope/activation-store"
import { progress } from "@conceptscope/core"
import { linearProbe, pairwiseTD, taskDecodability } from "@conceptscope/probes"
import { Effect, Schema } from "effect"
import { readTable, stagePromise, writeTable } from "./common"

/**
 * Decodability of the concept at every (checkpoint, layer, position) of an activation artifact:
 * TD by leave-one-out kNN (per concept and mean), the pairwise TD matrix (flattened [C*C]) and the
 * held-out accuracy of a linear probe. One row per (checkpoint, layer, position) in `td.parquet`.
 */
export const ProbeParams = Schema.Struct({
  nConcepts: Schema.Int.pipe(Schema.positive()),
  k: Schema.Int.pipe(Schema.positive()),
  metric: Schema.Literal("euclidean", "cosine"),
  linearProbe: Schema.Boolean,
  seed: Schema.Int
})

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
  step: number
  layer: number
  position: number
  td: number
  perConcept: number[]
  pairwise: number[][]
  linearProbeAcc: number
}

export const probeStage = defineStage({
  name: "probe",
  version: "1",
  kind: "td",
  schemaVersion: 1,
  params: ProbeParams,
  run: ({ params, inputs, dir }: { params: typeof ProbeParams.Type; inputs: { activations: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      const reader = yield* stagePromise("probe", () => ActivationReader.open(inputs.activations.dir))
      const shards = reader.index.shards
      const cells = new Map<string, { checkpoint: number; layer: number }>()
      for (const s of shards) cells.set(`${s.checkpoint}:${s.layer}`, { checkpoint: s.checkpoint, layer: s.layer })
      const C = params.nConcepts
      const records: Record<string, unknown>[] = []
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
          const opts = { k: params.k, metric: params.metric }
          const td = taskDecodability(X, labels, C, opts)
          const pw = pairwiseTD(X, labels, C, opts)
          const lp = params.linearProbe ? linearProbe(X, labels, C, { seed: params.seed }).testAcc : NaN
          records.push({ step: checkpoint, layer, position, td: td.td, per_concept: td.perClass, pairwise: pw.flat(), linear_probe_acc: lp })
        }
        bar.tick(1, `step ${checkpoint} layer ${layer}`)
      }
      bar.done()
      yield* writeTable(dir, "td.parquet", tableFromRecords(TD_SPEC(C), records))
      return { rowCount: records.length }
    })
})

export const readTD = (ref: ArtifactRef) =>
  Effect.map(readTable(ref, "td.parquet"), (t): TDRow[] => {
    const C = getColumn(t, "per_concept", "vector").dim
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
