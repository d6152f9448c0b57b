import { type ArtifactRef, defineStage, StageError } from "@conceptscope/artifacts"
import { ActivationWriter } from "@conceptscope/activation-store"
import { progress, residPost } from "@conceptscope/core"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema } from "effect"
import { useTensorBackend } from "../backend.js"
import { loadModel, readCheckpoints } from "./shared/checkpoints.js"
import { readDataset } from "./shared/datasets.js"
import { stagePromise, stageTry } from "./shared/io.js"

/**
 * Residual streams of the probe set at every checkpoint: `hook_embed` (stored as layer -1) and
 * `blocks.{l}.hook_resid_post` for every layer, at the given token positions, into an activation store.
 */
export const ExtractParams = Schema.Struct({
  positions: Schema.NonEmptyArray(Schema.Int.pipe(Schema.nonNegative())),
  batchSize: Schema.Int.pipe(Schema.positive())
})

export const ExtractMeta = Schema.Struct({ dModel: Schema.Int, shards: Schema.Int })

export const extractStage = defineStage({
  name: "extract",
  version: "1",
  schemaVersion: 1,
  params: ExtractParams,
  meta: ExtractMeta,
  run: ({ params, inputs, dir }: { params: typeof ExtractParams.Type; inputs: { train: ArtifactRef; probeset: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      yield* useTensorBackend
      const data = yield* readDataset(inputs.probeset)
      const checkpoints = yield* readCheckpoints(inputs.train)
      const positions = Array.from(params.positions)
      const P = positions.length
      const { K, D } = data
      // rows ordered (sequence, position), matching the captured [B, P, d] layout
      const rowsOf = (start: number, B: number) => {
        const seqIds = new Int32Array(B * P)
        const concepts = new Int32Array(B * P)
        const pos = new Int32Array(B * P)
        for (let b = 0; b < B; b++)
          for (let p = 0; p < P; p++) {
            seqIds[b * P + p] = data.seqIds[start + b]
            concepts[b * P + p] = data.basis[start + b]
            pos[b * P + p] = positions[p]
          }
        return { seqIds, concepts, positions: pos }
      }
      let rows = 0
      let dModel = 0
      let writer: ActivationWriter | null = null
      const bar = progress("extract", checkpoints.length)
      for (const ck of checkpoints) {
        yield* Effect.scoped(
          Effect.gen(function* () {
            const model = yield* loadModel("extract", inputs.train, ck.file)
            dModel = model.config.dModel
            if (!writer) writer = yield* stagePromise("extract", () => ActivationWriter.open(dir, { dModel }))
            const w = writer
            const hooks = ["hook_embed", ...Array.from({ length: model.config.nLayers }, (_, l) => residPost(l))]
            for (let start = 0; start < data.n; start += params.batchSize) {
              const B = Math.min(params.batchSize, data.n - start)
              const captured = yield* stageTry("extract", () => {
                const xs = tf.tensor3d(data.xs.subarray(start * K * D, (start + B) * K * D), [B, K, D])
                const ys = tf.tensor2d(data.ys.subarray(start * K, (start + B) * K), [B, K])
                const out = model.forward(xs, ys, { capture: { hooks, positions } })
                tf.dispose([xs, ys, out.preds])
                return out.captured
              })
              const rowMeta = rowsOf(start, B)
              for (const [h, hook] of hooks.entries()) {
                const t = captured.get(hook)!
                const vectors = t.dataSync() as Float32Array // [B, P, d_model]
                t.dispose()
                yield* stagePromise("extract", () => w.write({ checkpoint: ck.step, layer: h - 1, hook, ...rowMeta, vectors }))
                rows += B * P
              }
            }
          })
        )
        bar.tick(1, `step ${ck.step}`)
      }
      bar.done()
      const finished = writer as ActivationWriter | null
      if (!finished) return yield* Effect.fail(new StageError({ stage: "extract", reason: `${inputs.train.dir}/checkpoints.json lists no checkpoints` }))
      const index = yield* stagePromise("extract", () => finished.close())
      return { rowCount: rows, meta: { dModel, shards: index.shards.length } }
    })
})
