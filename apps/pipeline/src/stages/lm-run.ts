import { ActivationWriter } from "@conceptscope/activation-store"
import { type ArtifactRef, defineStage, tableFromRecords } from "@conceptscope/artifacts"
import { progress, residPost } from "@conceptscope/core"
import { CausalLM, loadTokenizer } from "@conceptscope/model-runners"
import { tokenizePrompt } from "@conceptscope/task-generators"
import { Effect, Schema } from "effect"
import { useTensorBackend } from "../backend.js"
import { stagePromise, stageTry, writeTable } from "./shared/io.js"
import { batchesByLength } from "./shared/lm-batches.js"
import { generatedCorrect, scoreBatch, stopTokens } from "./shared/lm-scoring.js"
import { readModelMeta, ANSWERS_SPEC, readPrompts } from "./shared/llm-tables.js"

/**
 * Run every prompt through the LM once: greedy exact match of the answer (`scoring`: teacher-forced, every
 * answer token the argmax given the prompt and the gold answer prefix; or generated, see lm-scoring.ts)
 * and the answer's log-probability
 * (`answers.parquet`, ANSWERS_SPEC), and the residual stream at the token before the answer at
 * `hook_embed` (layer -1) and every `blocks.{l}.hook_resid_post` into an activation store (checkpoint 0,
 * seq_id = prompt row, concept = label index, position = that token).
 */
export const LmRunParams = Schema.Struct({
  /** The model's content fingerprint (lm-model), so the key follows the weights, not the path. */
  fingerprint: Schema.String,
  mode: Schema.Literal("auto", "memory", "streamed"),
  batchSize: Schema.Int.pipe(Schema.positive()),
  scoring: Schema.Literal("teacher-forced", "generate"),
  /** the text after an answer in a prompt: its first token stops generation */
  stopAfter: Schema.String
})

export const LmRunMeta = Schema.Struct({ nLayers: Schema.Int, dModel: Schema.Int, accuracy: Schema.Number, tokensPerSecond: Schema.Number })

export const lmRunStage = defineStage({
  name: "lm-run",
  version: "2",
  schemaVersion: 2,
  params: LmRunParams,
  meta: LmRunMeta,
  run: ({ params, inputs, dir }: { params: typeof LmRunParams.Type; inputs: { "lm-model": ArtifactRef; prompts: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      yield* useTensorBackend
      const { dir: modelDir } = yield* readModelMeta("lm-run", inputs["lm-model"])
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
            const stop = params.scoring === "generate" ? stopTokens(model, (t) => tok.encode(t, { addSpecialTokens: false }), params.stopAfter) : []
            const bar = progress("lm-run", prompts.length)
            const started = Date.now()
            let tokens = 0
            for (const batch of batches) {
              const scored = yield* stageTry("lm-run", () => scoreBatch(model, batch.map((i) => tokenized[i]), { capture: hooks }))
              const P = scored.promptTokens
              const gen = params.scoring === "generate" ? yield* stageTry("lm-run", () => generatedCorrect(model, batch.map((i) => tokenized[i]), stop)) : null
              batch.forEach((i, b) => {
                const t = tokenized[i]
                answers[i] = {
                  row: prompts[i].row,
                  prompt_tokens: P,
                  answer_tokens: t.answerIds.length,
                  pre_answer: t.preAnswer,
                  correct: gen ? gen.correct[b] : scored.correct[b],
                  log_prob: scored.logProb[b],
                  generated: gen ? gen.generated[b].join(" ") : ""
                }
              })
              tokens += scored.tokens
              const meta = {
                seqIds: Int32Array.from(batch.map((i) => prompts[i].row)),
                concepts: Int32Array.from(batch.map((i) => prompts[i].label_index)),
                positions: new Int32Array(batch.length).fill(P - 1)
              }
              for (const [h, hook] of hooks.entries()) {
                const t = scored.captured[hook]
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
