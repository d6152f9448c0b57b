import { ActivationWriter } from "@conceptscope/activation-store"
import { type ArtifactRef, defineStage, tableFromRecords } from "@conceptscope/artifacts"
import { progress, residPost } from "@conceptscope/core"
import { CausalLM, loadTokenizer } from "@conceptscope/model-runners"
import { tokenizePrompt } from "@conceptscope/task-generators"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema } from "effect"
import { useTensorBackend } from "../backend.js"
import { LmModelMeta } from "./lm-model.js"
import { stagePromise, stageTry, writeTable } from "./shared/io.js"
import { batchesByLength } from "./shared/lm-batches.js"
import { ANSWERS_SPEC, readPrompts } from "./shared/llm-tables.js"

/**
 * Run every prompt through the LM once: teacher-forced greedy exact match of the answer (every answer
 * token is the argmax given the prompt and the gold answer prefix) and the answer's log-probability
 * (`answers.parquet`, ANSWERS_SPEC), and the residual stream at the token before the answer at
 * `hook_embed` (layer -1) and every `blocks.{l}.hook_resid_post` into an activation store (checkpoint 0,
 * seq_id = prompt row, concept = label index, position = that token).
 */
export const LmRunParams = Schema.Struct({
  /** The model's content fingerprint (lm-model), so the key follows the weights, not the path. */
  fingerprint: Schema.String,
  mode: Schema.Literal("auto", "memory", "streamed"),
  batchSize: Schema.Int.pipe(Schema.positive())
})

export const LmRunMeta = Schema.Struct({ nLayers: Schema.Int, dModel: Schema.Int, accuracy: Schema.Number, tokensPerSecond: Schema.Number })

export const lmRunStage = defineStage({
  name: "lm-run",
  version: "1",
  schemaVersion: 1,
  params: LmRunParams,
  meta: LmRunMeta,
  run: ({ params, inputs, dir }: { params: typeof LmRunParams.Type; inputs: { "lm-model": ArtifactRef; prompts: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      yield* useTensorBackend
      const { dir: modelDir } = yield* stageTry("lm-run", () => Schema.decodeUnknownSync(LmModelMeta)(inputs["lm-model"].manifest.meta))
      const prompts = yield* readPrompts(inputs.prompts)
      const tok = yield* stageTry("lm-run", () => loadTokenizer(modelDir))
      const tokenized = yield* stageTry("lm-run", () => prompts.map((p) => tokenizePrompt(tok, p)))
      return yield* Effect.acquireUseRelease(
        stageTry("lm-run", () => CausalLM.load(modelDir, { mode: params.mode })),
        (model) =>
          Effect.gen(function* () {
            const { nLayers, dModel } = model.arch.dims
            const hooks = ["hook_embed", ...Array.from({ length: nLayers }, (_, l) => residPost(l))]
            const writer = yield* stagePromise("lm-run", () => ActivationWriter.open(dir, { dModel }))
            const answers: Record<string, unknown>[] = new Array(prompts.length)
            const batches = batchesByLength(tokenized.map((t) => t.promptIds.length), params.batchSize)
            const bar = progress("lm-run", prompts.length)
            const started = Date.now()
            let tokens = 0
            for (const batch of batches) {
              const P = tokenized[batch[0]].promptIds.length
              const A = Math.max(...batch.map((i) => tokenized[i].answerIds.length))
              const rows = batch.map((i) => [...tokenized[i].promptIds, ...tokenized[i].answerIds])
              const T = P + A
              const ids = rows.map((r) => [...r, ...new Array(T - r.length).fill(0)])
              const attentionMask = rows.map((r) => [...new Array(r.length).fill(1), ...new Array(T - r.length).fill(0)])
              const readAt = Array.from({ length: A }, (_, j) => P - 1 + j) // logits that predict answer token j
              const out = yield* stageTry("lm-run", () => model.forward({ ids, attentionMask }, { capture: { hooks, positions: [P - 1] }, logits: readAt }))
              const { best, logp } = yield* stageTry("lm-run", () => {
                const lsm = tf.tidy(() => tf.logSoftmax(out.logits as tf.Tensor)) // [B, A, V]
                const best = tf.tidy(() => tf.argMax(lsm, 2).arraySync() as number[][]) // [B, A]
                // log p of each gold answer token: gather along the vocabulary
                const flat = lsm.dataSync() as Float32Array
                const V = lsm.shape[2]!
                lsm.dispose()
                ;(out.logits as tf.Tensor).dispose()
                const logp = batch.map((i, b) => tokenized[i].answerIds.reduce((s, t, j) => s + flat[(b * A + j) * V + t], 0))
                return { best, logp }
              })
              batch.forEach((i, b) => {
                const t = tokenized[i]
                const correct = t.answerIds.every((id, j) => best[b][j] === id)
                answers[i] = { row: prompts[i].row, prompt_tokens: P, answer_tokens: t.answerIds.length, pre_answer: t.preAnswer, correct, log_prob: logp[b] }
                tokens += P + t.answerIds.length
              })
              const meta = {
                seqIds: Int32Array.from(batch.map((i) => prompts[i].row)),
                concepts: Int32Array.from(batch.map((i) => prompts[i].label_index)),
                positions: new Int32Array(batch.length).fill(P - 1)
              }
              for (const [h, hook] of hooks.entries()) {
                const t = out.captured[hook]
                const vectors = t.dataSync() as Float32Array // [B, 1, d_model]
                t.dispose()
                yield* stagePromise("lm-run", () => writer.write({ checkpoint: 0, layer: h - 1, hook, ...meta, vectors }))
              }
              bar.tick(batch.length, `${P} prompt tokens`)
            }
            bar.done()
            yield* stagePromise("lm-run", () => writer.close())
            yield* writeTable(dir, "answers.parquet", tableFromRecords(ANSWERS_SPEC, answers))
            const seconds = Math.max(1e-3, (Date.now() - started) / 1000)
            const accuracy = answers.filter((a) => a.correct).length / answers.length
            return { rowCount: prompts.length, meta: { nLayers, dModel, accuracy, tokensPerSecond: tokens / seconds } }
          }),
        (model) => Effect.sync(() => model.dispose())
      )
    })
})
