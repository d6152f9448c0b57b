import { type ArtifactRef, defineStage, tableFromRecords, writeJson } from "@conceptscope/artifacts"
import type { Intervention } from "@conceptscope/core"
import type { RegressionTransformer } from "@conceptscope/model-runners"
import type { RegressionBatch } from "@conceptscope/task-generators"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema } from "effect"
import { useTensorBackend } from "../backend.js"
import { checkpointAt, loadModel } from "./shared/checkpoints.js"
import { readDataset, selectBasis } from "./shared/datasets.js"
import { writeTable } from "./shared/io.js"
import { forEachHeadAblation, headsSummary } from "./shared/heads-summary.js"
import { HeadsSummary } from "./shared/llm-tables.js"
import { scoreAfter } from "./patch.js"

/**
 * Head importance in the regression transformer (the study's Part 1 head pruning): at the final checkpoint,
 * every attention head of every layer ablated alone at every position, on `perConcept` evaluation
 * sequences per concept, and the change of the query prediction's normalised MSE per concept. "zero" sets
 * the head's output z (before W_O) to 0, "mean" to its mean over every position of the probe set (whose
 * sequences are disjoint from the evaluated ones). `heads.parquet`, `heads.json` (HeadsSummary; "loss" is
 * the query NMSE).
 */
export const HeadsParams = Schema.Struct({
  step: Schema.Int,
  perConcept: Schema.Int.pipe(Schema.positive()),
  nConcepts: Schema.Int.pipe(Schema.positive()),
  concepts: Schema.Array(Schema.String),
  ablations: Schema.Array(Schema.Literal("zero", "mean"))
})

export const HEADS_SPEC = { layer: "int32", head: "int32", ablation: "string", label: "string", nmse_base: "float64", nmse: "float64" } as const

const queryNmse = (model: RegressionTransformer, b: RegressionBatch, interventions: Intervention[]) =>
  scoreAfter(
    b,
    tf.tidy(() => model.forward(tf.tensor3d(b.xs, [b.n, b.K, b.D]), tf.tensor2d(b.ys, [b.n, b.K]), { interventions }).preds).dataSync() as Float32Array,
    0,
    true
  )

export const headsStage = defineStage({
  name: "heads",
  version: "1",
  schemaVersion: 1,
  params: HeadsParams,
  meta: Schema.Struct({ evaluated: Schema.Int }),
  run: ({ params, inputs, dir }: { params: typeof HeadsParams.Type; inputs: { train: ArtifactRef; probeset: ArtifactRef; evalset: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      if (params.ablations.length === 0) {
        yield* writeJson(HeadsSummary, dir, "heads.json", { shots: 0, nLayers: 0, nHeads: 0, concepts: [...params.concepts], modes: [] })
        return { rowCount: 0, meta: { evaluated: 0 } }
      }
      yield* useTensorBackend
      const probe = yield* readDataset(inputs.probeset)
      const evalSet = yield* readDataset(inputs.evalset)
      const sources = Array.from({ length: params.nConcepts }, (_, s) => selectBasis(evalSet, s, params.perConcept))
      const ck = yield* checkpointAt("heads", inputs.train, params.step)
      const { records, summary } = yield* Effect.scoped(
        Effect.gen(function* () {
          const model = yield* loadModel("heads", inputs.train, ck.file)
          const { nLayers: L, nHeads: H, dModel: d } = model.config
          const dh = d / H
          // each head's mean output over every position of the probe set: hook_z [n, T, H, dh]
          const zHooks = Array.from({ length: L }, (_, l) => `blocks.${l}.attn.hook_z`)
          const meanZ = tf.tidy(() => {
            const r = model.forward(tf.tensor3d(probe.xs, [probe.n, probe.K, probe.D]), tf.tensor2d(probe.ys, [probe.n, probe.K]), { capture: { hooks: zHooks, positions: "all" } })
            return zHooks.map((h) => Array.from(tf.mean(r.captured.get(h)!, [0, 1]).dataSync())) // [H*dh] per layer
          })
          const base = sources.map((b) => queryNmse(model, b, []))
          const records: Record<string, unknown>[] = []
          forEachHeadAblation(params.ablations, L, H, (l, h) => meanZ[l].slice(h * dh, (h + 1) * dh), "heads", (ablation, l, h, iv) =>
            sources.forEach((b, c) => records.push({ layer: l, head: h, ablation, label: params.concepts[c], nmse_base: base[c], nmse: queryNmse(model, b, [iv]) }))
          )
          return { records, summary: headsSummary(records, params.concepts, params.ablations, L, H, 0, "nmse") }
        })
      )
      yield* writeTable(dir, "heads.parquet", tableFromRecords(HEADS_SPEC, records))
      yield* writeJson(HeadsSummary, dir, "heads.json", summary)
      return { rowCount: records.length, meta: { evaluated: sources.reduce((s, b) => s + b.n, 0) } }
    })
})
