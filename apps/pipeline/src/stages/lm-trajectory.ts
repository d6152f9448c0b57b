import { type ArtifactRef, defineStage, StageError, tableFromRecords, writeJson } from "@conceptscope/artifacts"
import { residPost } from "@conceptscope/core"
import { CausalLM, loadTokenizer } from "@conceptscope/model-runners"
import { conceptCoupling } from "@conceptscope/probes"
import { tokenizePrompt } from "@conceptscope/task-generators"
import { Effect, Schema } from "effect"
import * as path from "node:path"
import { useTensorBackend } from "../backend.js"
import { stageTry, writeTable } from "./shared/io.js"
import { stopTokens } from "./shared/lm-scoring.js"
import { LmPassFields, promptPass } from "./shared/lm-pass.js"
import { accuracyByConcept, tdByLayerHalves } from "./shared/lm-td-halves.js"
import { LM_TRAJECTORY_SPEC, readModelMeta, readPrompts, TrajectorySummary } from "./shared/llm-tables.js"

/**
 * TD and accuracy over a model's training checkpoints (OLMo revisions, or the embedded LM's own
 * pretraining checkpoints): for each checkpoint, the plain ICL prompts at `shots` demonstrations, accuracy
 * per concept and held-out TD per concept at `layer` (the final model's peak) and at the checkpoint's own
 * peak (chosen on the selection half of the items, as lm-td does). Then the synthetic arm's coupling
 * statistics (conceptCoupling, probes) with accuracy in the place of the negated loss: halfway steps,
 * their lag and p-values against phase-randomised and circularly shifted nulls, for the concept mean and
 * per concept. The same tokenizer (the final model's) serves every checkpoint.
 */
export const LmTrajectoryParams = Schema.Struct({
  ...LmPassFields,
  /** null when the config has no `trajectory`: the stage then writes an empty summary */
  shots: Schema.NullOr(Schema.Int),
  layer: Schema.Int,
  labels: Schema.Array(Schema.String),
  k: Schema.Int,
  metric: Schema.Literal("euclidean", "cosine"),
  /** dir: absolute, or relative to the lm-model artifact (`inModel`); files key a local directory's content */
  checkpoints: Schema.Array(
    Schema.Struct({ step: Schema.Int, dir: Schema.String, inModel: Schema.Boolean, files: Schema.Array(Schema.Struct({ name: Schema.String, size: Schema.Number, mtimeMs: Schema.Number })) })
  ),
  seed: Schema.Int
})

const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length)
const sd = (xs: readonly number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)))

export const lmTrajectoryStage = defineStage({
  name: "lm-trajectory",
  version: "1",
  schemaVersion: 1,
  params: LmTrajectoryParams,
  meta: Schema.Struct({ steps: Schema.Array(Schema.Int) }),
  run: ({ params, inputs, dir }: { params: typeof LmTrajectoryParams.Type; inputs: { "lm-model": ArtifactRef; prompts: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      if (params.shots === null || params.checkpoints.length === 0) {
        yield* writeJson(TrajectorySummary, dir, "trajectory.json", { shots: 0, layer: params.layer, steps: [], tdMean: [], tdSpread: [], accuracyMean: [], accuracySpread: [], ownPeak: [], coupling: null, perConcept: [] })
        return { rowCount: 0, meta: { steps: [] } }
      }
      const shots = params.shots
      yield* useTensorBackend
      const { dir: modelDir } = yield* readModelMeta("lm-trajectory", inputs["lm-model"])
      const prompts = yield* readPrompts(inputs.prompts)
      const tok = yield* stageTry("lm-trajectory", () => loadTokenizer(modelDir))
      const tokenized = yield* stageTry("lm-trajectory", () => prompts.map((p) => tokenizePrompt(tok, p)))
      const rows = prompts.filter((p) => p.shots === shots && !p.instructed).map((p) => p.row)
      if (rows.length === 0) return yield* Effect.fail(new StageError({ stage: "lm-trajectory", reason: `no plain prompts at ${shots} shots (trajectory.shots must be one of the shot counts)` }))
      const C = params.labels.length
      const concepts = params.labels.slice(0, -1)
      const half = Math.floor((Math.max(...prompts.map((p) => p.item)) + 1) / 2)
      const y = Int32Array.from(rows.map((r) => prompts[r].label_index))
      const items = rows.map((r) => prompts[r].item)
      const opts = { k: params.k, metric: params.metric }
      const ordered = [...params.checkpoints].sort((a, b) => a.step - b.step)
      const perCheckpoint: { step: number; td: number[]; accuracy: number[]; ownPeak: number }[] = []
      for (const c of ordered) {
        const ckptDir = c.inModel ? path.join(inputs["lm-model"].dir, c.dir) : c.dir
        const pass = yield* stageTry("lm-trajectory", () => {
          const model = CausalLM.load(ckptDir, { mode: params.mode })
          try {
            if (params.layer >= model.arch.dims.nLayers) throw new Error(`${ckptDir} has ${model.arch.dims.nLayers} layers; the final model's peak ${params.layer} is not one of them`)
            const hooks = Array.from({ length: model.arch.dims.nLayers }, (_, l) => residPost(l))
            const stop = params.scoring === "generate" ? stopTokens(model, (t) => tok.encode(t, { addSpecialTokens: false }), params.stopAfter) : null
            return { hooks, d: model.arch.dims.dModel, ...promptPass(model, tokenized, rows, { batchSize: params.batchSize, hooks, stop, label: `trajectory step ${c.step}` }) }
          } finally {
            model.dispose()
          }
        })
        const { byLayer, ownPeak } = tdByLayerHalves(pass.vectors, pass.hooks, y, items, half, pass.d, C, opts)
        const accuracy = accuracyByConcept(pass.correct, rows, (r) => prompts[r].label_index, concepts.length)
        perCheckpoint.push({ step: c.step, td: byLayer[params.layer].heldout, accuracy, ownPeak })
      }
      const steps = perCheckpoint.map((p) => p.step)
      const tdMean = perCheckpoint.map((p) => mean(p.td))
      const accuracyMean = perCheckpoint.map((p) => mean(p.accuracy))
      const couple = (acc: number[], td: number[]) =>
        steps.length >= 3 ? conceptCoupling(steps, acc.map((a) => -a), td, { seed: params.seed }) : null
      const records = perCheckpoint.flatMap((p) => concepts.map((label, ci) => ({ step: p.step, label, td: p.td[ci], accuracy: p.accuracy[ci], own_peak: p.ownPeak })))
      yield* writeTable(dir, "trajectory.parquet", tableFromRecords(LM_TRAJECTORY_SPEC, records))
      yield* writeJson(TrajectorySummary, dir, "trajectory.json", {
        shots,
        layer: params.layer,
        steps,
        tdMean,
        tdSpread: perCheckpoint.map((p) => sd(p.td)),
        accuracyMean,
        accuracySpread: perCheckpoint.map((p) => sd(p.accuracy)),
        ownPeak: perCheckpoint.map((p) => p.ownPeak),
        coupling: couple(accuracyMean, tdMean),
        perConcept: concepts.map((label, ci) => ({ label, coupling: couple(perCheckpoint.map((p) => p.accuracy[ci]), perCheckpoint.map((p) => p.td[ci])) }))
      })
      return { rowCount: records.length, meta: { steps } }
    })
})
