import { progress } from "@conceptscope/core"
import { Schema } from "effect"
import type { CausalLM } from "@conceptscope/model-runners"
import type { TokenizedPrompt } from "@conceptscope/task-generators"
import { batchesByLength } from "./lm-batches.js"
import { generatedCorrect, scoreBatch } from "./lm-scoring.js"

/** The parameters of a stage that runs prompts through the model: which weights, how, and how answers are scored. */
export const LmPassFields = {
  /** the model's content fingerprint (lm-model), so the key follows the weights, not the path */
  fingerprint: Schema.String,
  mode: Schema.Literal("auto", "memory", "streamed"),
  batchSize: Schema.Int.pipe(Schema.positive()),
  scoring: Schema.Literal("teacher-forced", "generate"),
  /** the text after an answer in a prompt: its first token stops generation */
  stopAfter: Schema.String
}

/**
 * Prompts `idx` (indices into `tokenized`) through the model in batches of one token length: whether
 * each answer is right (teacher-forced, or generated when `stop` is given) and the residual at the
 * token before the answer at every hook, in memory (hook -> [idx.length, d] in idx order).
 */
export function promptPass(
  model: CausalLM,
  tokenized: readonly TokenizedPrompt[],
  idx: readonly number[],
  opts: { readonly batchSize: number; readonly hooks: readonly string[]; readonly stop: number[] | null; readonly label: string }
): { correct: boolean[]; vectors: Map<string, Float32Array> } {
  const d = model.arch.dims.dModel
  const correct = new Array<boolean>(idx.length).fill(false)
  const vectors = new Map(opts.hooks.map((h) => [h, new Float32Array(idx.length * d)]))
  const bar = progress(opts.label, idx.length)
  for (const batch of batchesByLength(idx.map((i) => tokenized[i].promptIds.length), opts.batchSize)) {
    const these = batch.map((j) => tokenized[idx[j]])
    const scored = scoreBatch(model, these, { capture: opts.hooks })
    const right = opts.stop ? generatedCorrect(model, these, opts.stop).correct : scored.correct
    batch.forEach((j, b) => (correct[j] = right[b]))
    for (const h of opts.hooks) {
      const t = scored.captured[h]
      const v = t.dataSync() as Float32Array // [B, 1, d]
      t.dispose()
      batch.forEach((j, b) => vectors.get(h)!.set(v.subarray(b * d, (b + 1) * d), j * d))
    }
    bar.tick(batch.length, `${scored.promptTokens} prompt tokens`)
  }
  bar.done()
  return { correct, vectors }
}
