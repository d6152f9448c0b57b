import { defineStage, type ArtifactRef } from "@conceptscope/artifacts"
import { ActivationWriter } from "@conceptscope/activation-store"
import { progress, residPost } from "@conceptscope/core"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema } from "effect"
import { stagePromise } from "./common"
import { readDataset } from "./dataset"
import { checkpointPath, loadModel, readCheckpoints } from "./model-io"

/**
 * Residual streams of the probe set at every checkpoint: `hook_embed` (stored as layer -1) and
 * `blocks.{l}.hook_resid_post` for every layer, at the given token positions, into an activation store.
 */
export const ExtractParams = Schema.Struct({
  positions: Schema.NonEmptyArray(Schema.Int.pipe(Schema.nonNegative())),
  batchSize: Schema.Int.pipe(Schema.positive())
})

type ExtractInputs = { run: ArtifactRef; probe: ArtifactRef }

export const extractStage = defineStage({
  name: "extract",
  version: "1",
  kind: "activations",
  schemaVersion: 1,
  params: ExtractParams,
  run: ({ params, inputs, dir }: { params: typeof ExtractParams.Type; inputs: ExtractInputs; dir: string }) =>
    Effect.gen(function* () {
      const data = yield* readDataset(inputs.probe)
      const checkpoints = yield* readCheckpoints(inputs.run)
      const positions = Array.from(params.positions)
      const P = positions.length
      let rows = 0
      let dModel = 0
      const bar = progress("extract", checkpoints.length)
      let w: ActivationWriter | null = null
      for (const ck of checkpoints) {
        yield* Effect.scoped(
          Effect.gen(function* () {
            const model = yield* loadModel("extract", checkpointPath(inputs.run, ck.file))
            const { nLayers } = model.config
            dModel = model.config.dModel
            if (!w) w = yield* stagePromise("extract", () => ActivationWriter.open(dir, { dModel }))
            const hooks = ["hook_embed", ...Array.from({ length: nLayers }, (_, l) => residPost(l))]
            const { K, D } = data
            for (let start = 0; start < data.n; start += params.batchSize) {
              const B = Math.min(params.batchSize, data.n - start)
              const xs = tf.tensor3d(data.xs.subarray(start * K * D, (start + B) * K * D), [B, K, D])
              const ys = tf.tensor2d(data.ys.subarray(start * K, (start + B) * K), [B, K])
              const { preds, captured } = model.forward(xs, ys, { capture: { hooks, positions } })
              xs.dispose()
              ys.dispose()
              preds.dispose()
              // Rows ordered (sequence, position) to match the captured [B, P, d] layout.
              const seqIds = new Int32Array(B * P)
              const concepts = new Int32Array(B * P)
              const pos = new Int32Array(B * P)
              for (let b = 0; b < B; b++)
                for (let p = 0; p < P; p++) {
                  seqIds[b * P + p] = data.seqIds[start + b]
                  concepts[b * P + p] = data.basis[start + b]
                  pos[b * P + p] = positions[p]
                }
              for (let h = 0; h < hooks.length; h++) {
                const t = captured.get(hooks[h])!
                const vectors = t.dataSync() as Float32Array // [B, P, d_model]
                t.dispose()
                yield* stagePromise("extract", () =>
                  w!.write({ checkpoint: ck.step, layer: h - 1, hook: hooks[h], positions: pos, seqIds, concepts, vectors })
                )
                rows += B * P
              }
            }
          })
        )
        bar.tick(1, `step ${ck.step}`)
      }
      bar.done()
      const index = yield* stagePromise("extract", () => w!.close())
      return { rowCount: rows, meta: { dModel, shards: index.shards.length } }
    })
})
