import { type ArtifactRef, defineStage, NoMeta, tableFromRecords } from "@conceptscope/artifacts"
import { ActivationReader } from "@conceptscope/activation-store"
import { pca2, umap2 } from "@conceptscope/probes"
import { Effect, Schema } from "effect"
import { useTensorBackend } from "../backend.js"
import { PhaseCheckpoints } from "./shared/phases.js"
import { stagePromise, stageTry, writeTable } from "./shared/io.js"
import { EMBEDDINGS_SPEC } from "./shared/tables.js"

/**
 * 2-D embeddings (UMAP and PCA) of one layer and position at the early, middle and final checkpoints,
 * coloured later by concept. One row per (checkpoint, method, point) in `embeddings.parquet`.
 */
export const EmbedParams = Schema.Struct({
  layer: Schema.Int.pipe(Schema.greaterThanOrEqualTo(-1)),
  position: Schema.Int,
  checkpoints: PhaseCheckpoints,
  nNeighbors: Schema.Int.pipe(Schema.positive()),
  minDist: Schema.Number,
  seed: Schema.Int
})

export const embedStage = defineStage({
  name: "embed",
  version: "2",
  schemaVersion: 2,
  params: EmbedParams,
  meta: NoMeta,
  run: ({ params, inputs, dir }: { params: typeof EmbedParams.Type; inputs: { extract: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      yield* useTensorBackend // PCA runs on tfjs
      const reader = yield* stagePromise("embed", () => ActivationReader.open(inputs.extract.dir))
      const records: Record<string, unknown>[] = []
      for (const ck of params.checkpoints) {
        const s = yield* stagePromise("embed", () => reader.read({ checkpoint: ck.step, layer: params.layer, positions: [params.position] }))
        const [u, p] = yield* stageTry("embed", () => [
          umap2(s.vectors, s.dModel, { seed: params.seed, nNeighbors: params.nNeighbors, minDist: params.minDist }),
          pca2(s.vectors, s.dModel).coords
        ])
        for (const [method, coords] of [["umap", u], ["pca", p]] as const)
          for (let i = 0; i < s.n; i++)
            records.push({ step: ck.step, phase: ck.phase, method, x: coords[2 * i], y: coords[2 * i + 1], concept: s.concepts[i], seq_id: s.seqIds[i] })
      }
      yield* writeTable(dir, "embeddings.parquet", tableFromRecords(EMBEDDINGS_SPEC, records))
      return { rowCount: records.length, meta: {} }
    })
})

