import { type ArtifactRef, defineStage, StageError, tableFromRecords, writeJson } from "@conceptscope/artifacts"
import type { Intervention } from "@conceptscope/core"
import { CausalLM, loadTokenizer } from "@conceptscope/model-runners"
import { tokenizePrompt } from "@conceptscope/task-generators"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema } from "effect"
import { useTensorBackend } from "../backend.js"
import { stageTry, writeTable } from "./shared/io.js"
import { batchesByLength } from "./shared/lm-batches.js"
import { scoreBatch } from "./shared/lm-scoring.js"
import { forEachHeadAblation, headsSummary } from "./shared/heads-summary.js"
import { HeadsSummary, LM_HEADS_SPEC, readModelMeta, readPrompts } from "./shared/llm-tables.js"

/**
 * Head importance: every attention head of every layer ablated alone, at every position of the plain ICL
 * prompts at `shots` demonstrations (the first `perConcept` items of each concept), and the change per concept of accuracy (teacher-forced exact match)
 * and of the answer's loss (mean -log p of the answer). "zero" sets the head's output z (before W_O) to 0;
 * "mean" sets it to its mean over the prompt tokens of the same prompts (measured in a first pass through
 * `attn.hook_z`). `heads.parquet` (one row per layer, head, mode and concept) and `heads.json` (per mode
 * the [layer][head] loss change averaged over concepts, and each concept's most important head).
 */
export const LmHeadsParams = Schema.Struct({
  fingerprint: Schema.String,
  mode: Schema.Literal("auto", "memory", "streamed"),
  batchSize: Schema.Int.pipe(Schema.positive()),
  /** null when the config has no `heads`: the stage then writes an empty summary */
  shots: Schema.NullOr(Schema.Int),
  ablations: Schema.Array(Schema.Literal("zero", "mean")),
  /** prompts per concept (items 0 .. perConcept - 1 of each label) */
  perConcept: Schema.Int.pipe(Schema.positive()),
  labels: Schema.Array(Schema.String)
})

const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length)

export const lmHeadsStage = defineStage({
  name: "lm-heads",
  version: "1",
  schemaVersion: 1,
  params: LmHeadsParams,
  meta: Schema.Struct({ evaluated: Schema.Int }),
  run: ({ params, inputs, dir }: { params: typeof LmHeadsParams.Type; inputs: { "lm-model": ArtifactRef; prompts: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      const concepts = params.labels.slice(0, -1)
      if (params.shots === null || params.ablations.length === 0) {
        yield* writeJson(HeadsSummary, dir, "heads.json", { shots: 0, nLayers: 0, nHeads: 0, concepts, modes: [] })
        return { rowCount: 0, meta: { evaluated: 0 } }
      }
      const shots = params.shots
      yield* useTensorBackend
      const { dir: modelDir } = yield* readModelMeta("lm-heads", inputs["lm-model"])
      const prompts = yield* readPrompts(inputs.prompts)
      const tok = yield* stageTry("lm-heads", () => loadTokenizer(modelDir))
      const rows = prompts.filter((p) => p.shots === shots && !p.instructed && p.label_index < concepts.length && p.item < params.perConcept).map((p) => p.row)
      if (rows.length === 0) return yield* Effect.fail(new StageError({ stage: "lm-heads", reason: `no plain prompts at ${shots} shots (heads.shots must be one of the shot counts)` }))
      const tokenized = yield* stageTry("lm-heads", () => rows.map((r) => tokenizePrompt(tok, prompts[r])))
      const batches = batchesByLength(tokenized.map((t) => t.promptIds.length), params.batchSize)
      return yield* Effect.acquireUseRelease(
        stageTry("lm-heads", () => CausalLM.load(modelDir, { mode: params.mode })),
        (model) =>
          stageTry("lm-heads", () => {
            const { nLayers: L, nHeads: H } = model.arch.dims
            /** correct and loss (-log p of the answer) per prompt, with these interventions on every batch */
            const score = (interventions: Intervention[], capture?: string[], onCaptured?: (c: Record<string, tf.Tensor>, P: number) => void) => {
              const correct = new Array<boolean>(rows.length)
              const loss = new Array<number>(rows.length)
              for (const batch of batches) {
                const these = batch.map((i) => tokenized[i])
                const s = scoreBatch(model, these, { interventions, capture, captureAll: true })
                batch.forEach((i, b) => {
                  correct[i] = s.correct[b]
                  loss[i] = -s.logProb[b]
                })
                onCaptured?.(s.captured, s.promptTokens)
                tf.dispose(Object.values(s.captured))
              }
              return { correct, loss }
            }
            // baseline, and each head's mean output over the prompt tokens (answer tokens and padding excluded)
            const zHooks = Array.from({ length: L }, (_, l) => `blocks.${l}.attn.hook_z`)
            let dh = 0
            const sums: Float64Array[] = []
            let count = 0
            const base = score(
              [],
              params.ablations.includes("mean") ? zHooks : undefined,
              (cap, P) => {
                zHooks.forEach((h, l) => {
                  const z = cap[h] // [B, T, H, dh]
                  const [B, T, , d] = z.shape
                  dh = d
                  sums[l] ??= new Float64Array(H * d)
                  const v = z.dataSync()
                  for (let b = 0; b < B; b++) for (let t = 0; t < P; t++) for (let j = 0; j < H * d; j++) sums[l][j] += v[(b * T + t) * H * d + j]
                })
                count += cap[zHooks[0]].shape[0] * P
              }
            )
            const meanZ = (l: number, h: number) => Array.from(sums[l].subarray(h * dh, (h + 1) * dh), (s) => s / count)
            const byConcept = (xs: readonly (number | boolean)[]) =>
              concepts.map((_, c) => mean(rows.flatMap((r, i) => (prompts[r].label_index === c ? [Number(xs[i])] : []))))
            const accBase = byConcept(base.correct)
            const lossBase = byConcept(base.loss)
            const records: Record<string, unknown>[] = []
            forEachHeadAblation(params.ablations, L, H, meanZ, "lm-heads", (ablation, l, h, iv) => {
              const r = score([iv])
              const acc = byConcept(r.correct)
              const loss = byConcept(r.loss)
              concepts.forEach((label, c) => records.push({ layer: l, head: h, ablation, label, accuracy_base: accBase[c], accuracy: acc[c], loss_base: lossBase[c], loss: loss[c] }))
            })
            return { records, summary: headsSummary(records, concepts, params.ablations, L, H, shots, "loss") }
          }).pipe(
            Effect.flatMap(({ records, summary }) =>
              Effect.gen(function* () {
                yield* writeTable(dir, "heads.parquet", tableFromRecords(LM_HEADS_SPEC, records))
                yield* writeJson(HeadsSummary, dir, "heads.json", summary)
                return { rowCount: records.length, meta: { evaluated: rows.length } }
              })
            )
          ),
        (model) => Effect.sync(() => model.dispose())
      )
    })
})
