import * as tf from "@tensorflow/tfjs"
import type { Intervention } from "@conceptscope/core"
import { ForwardError } from "../errors.js"
import type { KvCache } from "./architecture.js"
import type { CausalLM, StepInput } from "./causal-lm.js"

/**
 * Teacher-forced scoring and greedy generation on a CausalLM, both with interventions.
 *
 * scoreTargets: for each (prompt, target) the target's log-probability given the prompt, and whether
 * greedy decoding would produce exactly the target: every target token (then every `stop` token) is
 * the argmax given the gold prefix. One forward pass for the whole batch (right padding, so positions
 * of the prompts are the same as unpadded; intervention positions index that padded batch).
 *
 * generateGreedy: argmax decoding with a KV cache (each step runs only the new token through the
 * network). Prompts are left-padded to a common length; `interventions` act on the prompt pass
 * (positions index the padded prompt batch), `stepInterventions` on every generated token (their
 * positions are [0] or "all": the one new position).
 */
export interface ScoreItem {
  readonly prompt: readonly number[]
  readonly target: readonly number[]
}

export interface ScoreResult {
  /** Sum of log p(target token | gold prefix) over the target tokens (stop tokens excluded). */
  readonly logProb: number
  readonly tokenLogProbs: readonly number[]
  /** Greedy decoding would emit exactly target + stop. */
  readonly greedyExact: boolean
}

export function scoreTargets(
  model: CausalLM,
  items: readonly ScoreItem[],
  opts: { stop?: readonly number[]; interventions?: readonly Intervention[]; allowNonFinite?: boolean } = {}
): ScoreResult[] {
  const stop = opts.stop ?? []
  const rows = items.map((it, i) => {
    if (it.prompt.length === 0 || it.target.length === 0) throw new ForwardError({ field: `items[${i}]`, reason: "prompt and target must be non-empty" })
    return [...it.prompt, ...it.target, ...stop]
  })
  const T = Math.max(...rows.map((r) => r.length))
  const ids = rows.map((r) => [...r, ...Array(T - r.length).fill(0)])
  const attentionMask = rows.map((r) => [...Array(r.length).fill(1), ...Array(T - r.length).fill(0)])
  const { logits } = model.forward({ ids, attentionMask }, { interventions: opts.interventions, allowNonFinite: opts.allowNonFinite })
  const logp = tf.tidy(() => tf.logSoftmax(logits as tf.Tensor)) // [B, T, V]
  ;(logits as tf.Tensor).dispose()
  const lp = logp.arraySync() as number[][][]
  const best = tf.tidy(() => tf.argMax(logp, 2).arraySync() as number[][]) // [B, T]
  logp.dispose()
  return items.map((it, b) => {
    const P = it.prompt.length
    const gold = rows[b]
    const tokenLogProbs = it.target.map((tok, j) => lp[b][P + j - 1][tok])
    let greedyExact = true
    for (let j = P; j < gold.length; j++) if (best[b][j - 1] !== gold[j]) greedyExact = false
    return { logProb: tokenLogProbs.reduce((a, x) => a + x, 0), tokenLogProbs, greedyExact }
  })
}

export interface GenerateOptions {
  readonly maxNewTokens: number
  /** Token ids that end a row's generation (kept in the output); default: the checkpoint's EOS ids (`[]` for none). */
  readonly stop?: readonly number[]
  readonly interventions?: readonly Intervention[]
  readonly stepInterventions?: readonly Intervention[]
  /** Decode from non-finite logits instead of failing (see CausalLM.step). */
  readonly allowNonFinite?: boolean
}

export function generateGreedy(model: CausalLM, prompts: readonly (readonly number[])[], opts: GenerateOptions): number[][] {
  const B = prompts.length
  const P = Math.max(...prompts.map((p) => p.length))
  if (B === 0 || prompts.some((p) => p.length === 0)) throw new ForwardError({ field: "prompts", reason: "need at least one non-empty prompt" })
  const kv: KvCache = { past: 0, k: [], v: [] }
  const out: number[][] = prompts.map(() => [])
  const done = new Array<boolean>(B).fill(false)
  const mask: number[][] = prompts.map((p) => [...Array(P - p.length).fill(0), ...Array(p.length).fill(1)])
  const next = prompts.map((p) => p.length) // position id of each row's next token
  const stop = new Set(opts.stop ?? model.eosTokenIds())
  try {
    // prompt pass, left-padded
    const ids = prompts.map((p) => [...Array(P - p.length).fill(0), ...p])
    let { logits } = model.step(model.layout({ ids, attentionMask: mask }), { interventions: opts.interventions, logits: [-1], allowNonFinite: opts.allowNonFinite }, kv)
    for (let s = 0; s < opts.maxNewTokens; s++) {
      const tok = tf.tidy(() => tf.argMax(logits as tf.Tensor, 2).dataSync()) // [B, 1]
      ;(logits as tf.Tensor).dispose()
      for (let b = 0; b < B; b++) {
        if (done[b]) continue
        out[b].push(tok[b])
        if (stop.has(tok[b])) done[b] = true
      }
      if (done.every(Boolean) || s === opts.maxNewTokens - 1) return out
      for (let b = 0; b < B; b++) mask[b].push(1)
      const Tk = mask[0].length
      const pad = new Uint8Array(B * Tk)
      mask.forEach((row, b) => row.forEach((m, t) => (pad[b * Tk + t] = m)))
      const input: StepInput = { B, T: 1, ids: Int32Array.from(tok), positions: Int32Array.from(next), pad }
      for (let b = 0; b < B; b++) next[b]++
      ;({ logits } = model.step(input, { interventions: opts.stepInterventions, logits: [-1], allowNonFinite: opts.allowNonFinite }, kv))
    }
    return out
  } finally {
    tf.dispose([...kv.k, ...kv.v].filter((t): t is tf.Tensor => t !== null))
  }
}
