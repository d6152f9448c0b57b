import { defineStage, getColumn, tableFromRecords, type ArtifactRef } from "@conceptscope/artifacts"
import { ActivationReader } from "@conceptscope/activation-store"
import { pca2, umap2 } from "@conceptscope/probes"
import { Effect, Schema } from "effect"
import { readTable, stagePromise, writeTable } from "./common"

/**
 * 2-D embeddings (UMAP and PCA) of one layer and position at the early, middle and final checkpoints,
 * coloured later by concept. One row per (checkpoint, method, point) in `embeddings.parquet`.
 */
export const EmbedParams = Schema.Struct({
  layer: Schema.Int.pipe(Schema.greaterThanOrEqualTo(-1)),
  position: Schema.Int,
  checkpoints: Schema.Array(Schema.Struct({ step: Schema.Int, stage: Schema.Literal("early", "middle", "final") })),
  nNeighbors: Schema.Int.pipe(Schema.positive()),
  minDist: Schema.Number,
  seed: Schema.Int
})

export interface EmbeddingSet {
  step: number
  stage: "early" | "middle" | "final"
  method: "umap" | "pca"
  points: { x: number; y: number; concept: number }[]
}

export const embedStage = defineStage({
  name: "embed",
  version: "1",
  kind: "embeddings",
  schemaVersion: 1,
  params: EmbedParams,
  run: ({ params, inputs, dir }: { params: typeof EmbedParams.Type; inputs: { activations: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      const reader = yield* stagePromise("embed", () => ActivationReader.open(inputs.activations.dir))
      const records: Record<string, unknown>[] = []
      for (const ck of params.checkpoints) {
        const s = yield* stagePromise("embed", () => reader.read({ checkpoint: ck.step, layer: params.layer, positions: [params.position] }))
        const u = umap2(s.vectors, s.dModel, { seed: params.seed, nNeighbors: params.nNeighbors, minDist: params.minDist })
        const p = pca2(s.vectors, s.dModel).coords
        for (const [method, coords] of [["umap", u], ["pca", p]] as const)
          for (let i = 0; i < s.n; i++)
            records.push({ step: ck.step, stage: ck.stage, method, x: coords[2 * i], y: coords[2 * i + 1], concept: s.concepts[i], seq_id: s.seqIds[i] })
      }
      const spec = { step: "int32", stage: "string", method: "string", x: "float32", y: "float32", concept: "int32", seq_id: "int32" } as const
      yield* writeTable(dir, "embeddings.parquet", tableFromRecords(spec, records))
      return { rowCount: records.length }
    })
})

export const readEmbeddings = (ref: ArtifactRef) =>
  Effect.map(readTable(ref, "embeddings.parquet"), (t): EmbeddingSet[] => {
    const step = getColumn(t, "step", "int32").data
    const stage = getColumn(t, "stage", "string").data
    const method = getColumn(t, "method", "string").data
    const x = getColumn(t, "x", "float32").data
    const y = getColumn(t, "y", "float32").data
    const concept = getColumn(t, "concept", "int32").data
    const sets = new Map<string, EmbeddingSet>()
    for (let i = 0; i < t.numRows; i++) {
      const key = `${step[i]}:${method[i]}`
      let set = sets.get(key)
      if (!set) {
        set = { step: step[i], stage: stage[i] as EmbeddingSet["stage"], method: method[i] as EmbeddingSet["method"], points: [] }
        sets.set(key, set)
      }
      set.points.push({ x: x[i], y: y[i], concept: concept[i] })
    }
    return [...sets.values()]
  })
