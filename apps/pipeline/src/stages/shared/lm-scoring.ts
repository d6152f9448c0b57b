import type { Intervention } from "@conceptscope/core"
import { type CausalLM, generateGreedy } from "@conceptscope/model-runners"
import type { TokenizedPrompt } from "@conceptscope/task-generators"
import * as tf from "@tensorflow/tfjs"

/**
 * One forward pass over a batch of prompts of the same token length P, each followed by its answer
 * (right padding), scoring the answers teacher-forced: `correct` when every answer token is the argmax
 * given the prompt and the gold answer prefix (greedy decoding would produce the answer), `logProb` the
 * answer's log-probability. The token before the answer is position P - 1 in every row; `capture` hooks
 * are read there, and `interventions` act on the padded batch (their `batch` indices are rows of it).
 */
export interface ScoredBatch {
  readonly correct: boolean[]
  readonly logProb: number[]
  /** hook -> [B, 1, ...] at position P - 1, or [B, T, ...] with captureAll (the caller disposes). */
  readonly captured: Record<string, tf.Tensor>
  readonly promptTokens: number
  readonly tokens: number
}

export function scoreBatch(
  model: CausalLM,
  prompts: readonly TokenizedPrompt[],
  opts: { readonly capture?: readonly string[]; readonly interventions?: readonly Intervention[]; /** capture every position (prompt, answer, padding), not only P - 1 */ readonly captureAll?: boolean } = {}
): ScoredBatch {
  const P = prompts[0].promptIds.length
  if (prompts.some((t) => t.promptIds.length !== P)) throw new Error("scoreBatch: every prompt of a batch must have the same token length")
  const A = Math.max(...prompts.map((t) => t.answerIds.length))
  const rows = prompts.map((t) => [...t.promptIds, ...t.answerIds])
  const T = P + A
  const ids = rows.map((r) => [...r, ...new Array<number>(T - r.length).fill(0)])
  const attentionMask = rows.map((r) => [...new Array<number>(r.length).fill(1), ...new Array<number>(T - r.length).fill(0)])
  const readAt = Array.from({ length: A }, (_, j) => P - 1 + j) // the logits that predict answer token j
  const out = model.forward(
    { ids, attentionMask },
    { capture: opts.capture ? { hooks: opts.capture, positions: opts.captureAll ? "all" : [P - 1] } : undefined, interventions: opts.interventions, logits: readAt }
  )
  const logits = out.logits as tf.Tensor
  const lsm = tf.tidy(() => tf.logSoftmax(logits)) // [B, A, V]
  logits.dispose()
  const best = tf.tidy(() => tf.argMax(lsm, 2).arraySync() as number[][]) // [B, A]
  const V = lsm.shape[2]!
  const flat = lsm.dataSync() as Float32Array
  lsm.dispose()
  const logProb = prompts.map((t, b) => t.answerIds.reduce((s, id, j) => s + flat[(b * A + j) * V + id], 0))
  const correct = prompts.map((t, b) => t.answerIds.every((id, j) => best[b][j] === id))
  return { correct, logProb, captured: out.captured, promptTokens: P, tokens: rows.reduce((s, r) => s + r.length, 0) }
}

/**
 * How an answer counts as correct. "teacher-forced": every answer token is the argmax given the prompt and
 * the gold prefix (scoreBatch). "generate": greedy generation from the prompt, at most answer length + 1
 * tokens, must give exactly the answer's tokens followed by a stop token (EOS or the first token of what
 * follows an answer in the template) or nothing more.
 */
export type Scoring = "teacher-forced" | "generate"

/** Greedy generation's exact match for a batch of prompts (any lengths); interventions act on the prompt pass. */
export function generatedCorrect(
  model: CausalLM,
  prompts: readonly TokenizedPrompt[],
  stop: readonly number[],
  interventions?: readonly Intervention[]
): { correct: boolean[]; generated: number[][] } {
  const A = Math.max(...prompts.map((t) => t.answerIds.length))
  const generated = generateGreedy(model, prompts.map((t) => t.promptIds), { maxNewTokens: A + 1, stop, interventions })
  const stops = new Set(stop)
  const correct = prompts.map((t, b) => {
    const g = generated[b]
    const n = t.answerIds.length
    return t.answerIds.every((id, j) => g[j] === id) && (g.length === n || stops.has(g[n]))
  })
  return { correct, generated }
}

/** The stop tokens of generation: EOS and the first token of the text that follows an answer in a prompt. */
export function stopTokens(model: CausalLM, encode: (text: string) => number[], after: string): number[] {
  const first = encode(after)[0]
  return [...new Set([...model.eosTokenIds(), ...(first === undefined ? [] : [first])])]
}
