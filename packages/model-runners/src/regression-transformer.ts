/**
 * The regression transformer of Garg et al. (2022) as used by the study: a GPT-2 decoder reading
 * interleaved (x, y) tokens and predicting each y_k at the token of x_k. One file, top to bottom:
 * config -> parameters -> forward -> checkpoints.
 *
 * Tokens (T = 2K positions): position 2k holds x_{k+1}, position 2k+1 holds y_{k+1} (k = 0..K-1).
 *   x token: the D+1 vector (x, 0)
 *   y token: "y-scalar" (the study): (y, 0, ..., 0), or y in channel yChannel (0..D) when set;
 *            "xy-pair" (option): (x, y)
 * Both go through one linear read-in W_E [D+1, d_model] + b_E, plus a learned position embedding.
 * Blocks are pre-LayerNorm: h += attn(ln1(h)); h += mlp(ln2(h)); then ln_final and a linear read-out
 * W_U [d_model, 1] + b_U; the prediction of y_k is the read-out at position 2(k-1) (the x_k token).
 * No dropout (Garg et al. use 0).
 *
 * Layout, chosen for the wasm backend: the residual stream is 2D and position-major, [T*B, d_model]
 * with row t*B + b, so every weight product is a plain 2D GEMM and attention's B*H small products run
 * as depthwise convolutions with the head channel innermost (channel-matmul.ts) with few transposes:
 * q, k, v are [T, B*H, d_head] views of the projections, v and the attention output need no transpose.
 * Hooks report the documented [batch, pos, ...] layouts. Init: GPT-2 style N(0, 0.02) for every weight matrix and the position
 * embedding, residual projections (attn.W_O, mlp.W_out) N(0, 0.02/sqrt(2 nLayers)), biases 0, LN w 1 b 0;
 * each tensor drawn from Rng(seed).fork(tensor name), so adding a tensor never changes the others.
 *
 * Parameter names and shapes (TransformerLens-like names; projections stored 2D, heads in column blocks:
 * head h is columns h*d_head .. (h+1)*d_head of W_Q/W_K/W_V and rows of W_O):
 *   embed.W_E [D+1, d]  embed.b_E [d]  pos_embed.W_pos [2*maxExamples, d]
 *   blocks.{l}.ln1.w/b [d]  blocks.{l}.attn.W_Q/W_K/W_V [d, d]  b_Q/b_K/b_V [d]  attn.W_O [d, d]  attn.b_O [d]
 *   blocks.{l}.ln2.w/b [d]  blocks.{l}.mlp.W_in [d, dMlp]  mlp.b_in [dMlp]  mlp.W_out [dMlp, d]  mlp.b_out [d]
 *   ln_final.w/b [d]  unembed.W_U [d, 1]  unembed.b_U [1]
 */
import * as tf from "@tensorflow/tfjs"
import { Schema } from "effect"
import { Rng } from "@conceptscope/core"
import { selfAttention } from "./channel-matmul.js"
import { causalMaskValues, gelu, layerNorm, linear } from "./layers.js"
import { HookRunner, type ForwardOptions } from "./hook-points.js"
import { loadSafetensors, saveSafetensors, type TensorData } from "@conceptscope/safetensors"
import { CheckpointError, ForwardError, ModelConfigError } from "./errors.js"
import { allFinite, describeStreamHook } from "./finite.js"

const PosInt = Schema.Int.pipe(Schema.positive())

export const RegressionTransformerConfig = Schema.Struct({
  nLayers: PosInt,
  dModel: PosInt,
  nHeads: PosInt,
  /** MLP width; default 4 * dModel. */
  dMlp: Schema.optional(PosInt),
  /** D: dimension of x. */
  xDim: PosInt,
  /** K: the largest number of (x, y) examples per sequence (sets the position table to 2K rows). */
  maxExamples: PosInt,
  tokenFormat: Schema.Literal("y-scalar", "xy-pair"),
  /** "y-scalar" only: the input channel that carries y (0..D; default 0 as in the study, D is the channel x tokens leave 0). */
  yChannel: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  seed: Schema.Int
}).pipe(
  Schema.filter((c) => c.dModel % c.nHeads === 0 || `dModel ${c.dModel} is not divisible by nHeads ${c.nHeads}`),
  Schema.filter((c) =>
    c.yChannel === undefined ||
    (c.tokenFormat === "y-scalar" && c.yChannel <= c.xDim) ||
    `yChannel ${c.yChannel} needs tokenFormat "y-scalar" and at most xDim (${c.xDim})`
  )
)
export type RegressionTransformerConfig = Schema.Schema.Type<typeof RegressionTransformerConfig>

/** The "quick" model used for fast sweeps here. */
export const quickModelConfig: RegressionTransformerConfig = {
  nLayers: 4, dModel: 64, nHeads: 4, xDim: 8, maxExamples: 10, tokenFormat: "y-scalar", seed: 0
}
/** The study's model: 12 layers, width 256, 8 heads, D = 16, K = 20 (about 9.5M parameters). */
export const studyModelConfig: RegressionTransformerConfig = {
  nLayers: 12, dModel: 256, nHeads: 8, xDim: 16, maxExamples: 20, tokenFormat: "y-scalar", seed: 0
}

export function decodeConfig(input: unknown): RegressionTransformerConfig {
  const r = Schema.decodeUnknownEither(RegressionTransformerConfig)(input)
  if (r._tag === "Left") throw new ModelConfigError({ field: "config", reason: String(r.left.message) })
  return r.right
}

/** Names and shapes of all parameters, in a fixed order, with their init std (0 = zeros, -1 = ones). */
export function parameterSpecs(c: RegressionTransformerConfig): Array<{ name: string; shape: number[]; std: number }> {
  const d = c.dModel
  const dMlp = c.dMlp ?? 4 * d
  const resid = 0.02 / Math.sqrt(2 * c.nLayers)
  const specs: Array<{ name: string; shape: number[]; std: number }> = [
    { name: "embed.W_E", shape: [c.xDim + 1, d], std: 0.02 },
    { name: "embed.b_E", shape: [d], std: 0 },
    { name: "pos_embed.W_pos", shape: [2 * c.maxExamples, d], std: 0.02 }
  ]
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blocks.${l}`
    specs.push(
      { name: `${p}.ln1.w`, shape: [d], std: -1 },
      { name: `${p}.ln1.b`, shape: [d], std: 0 },
      { name: `${p}.attn.W_Q`, shape: [d, d], std: 0.02 },
      { name: `${p}.attn.b_Q`, shape: [d], std: 0 },
      { name: `${p}.attn.W_K`, shape: [d, d], std: 0.02 },
      { name: `${p}.attn.b_K`, shape: [d], std: 0 },
      { name: `${p}.attn.W_V`, shape: [d, d], std: 0.02 },
      { name: `${p}.attn.b_V`, shape: [d], std: 0 },
      { name: `${p}.attn.W_O`, shape: [d, d], std: resid },
      { name: `${p}.attn.b_O`, shape: [d], std: 0 },
      { name: `${p}.ln2.w`, shape: [d], std: -1 },
      { name: `${p}.ln2.b`, shape: [d], std: 0 },
      { name: `${p}.mlp.W_in`, shape: [d, dMlp], std: 0.02 },
      { name: `${p}.mlp.b_in`, shape: [dMlp], std: 0 },
      { name: `${p}.mlp.W_out`, shape: [dMlp, d], std: resid },
      { name: `${p}.mlp.b_out`, shape: [d], std: 0 }
    )
  }
  specs.push(
    { name: "ln_final.w", shape: [d], std: -1 },
    { name: "ln_final.b", shape: [d], std: 0 },
    { name: "unembed.W_U", shape: [d, 1], std: 0.02 },
    { name: "unembed.b_U", shape: [1], std: 0 }
  )
  return specs
}

export interface ForwardResult {
  readonly preds: tf.Tensor2D // [B, K]
  /** Requested hooks: stream hooks [B, P, d_model]; attn.hook_pattern [B, H, P, T]. Caller disposes. */
  readonly captured: Map<string, tf.Tensor>
}

export const CHECKPOINT_FORMAT = "conceptscope.regression-transformer.v1"

export class RegressionTransformer {
  readonly config: RegressionTransformerConfig
  readonly dMlp: number
  private readonly params = new Map<string, tf.Variable>()
  private readonly masks = new Map<number, tf.Tensor>() // T -> [T, 1, T] additive causal mask
  /** The checkpoint the weights came from (load, loadWeights, setWeights' source), for error messages. */
  private source: string | null = null

  private constructor(config: RegressionTransformerConfig, weights?: ReadonlyMap<string, TensorData>) {
    this.config = config
    this.dMlp = config.dMlp ?? 4 * config.dModel
    const rng = new Rng(config.seed)
    for (const s of parameterSpecs(config)) {
      const n = s.shape.reduce((a, b) => a * b, 1)
      let data: Float32Array
      if (weights) {
        data = (weights.get(s.name) as TensorData).data
      } else if (s.std === 0) data = new Float32Array(n)
      else if (s.std === -1) data = new Float32Array(n).fill(1)
      else data = rng.fork(s.name).normals(n, s.std)
      this.params.set(s.name, tf.tidy(() => tf.variable(tf.tensor(data, s.shape), true)))
    }
  }

  /** A freshly initialised model (decodes and validates `config`). */
  static create(config: unknown): RegressionTransformer {
    return new RegressionTransformer(decodeConfig(config))
  }

  /** A model rebuilt from a checkpoint written by `save` (config from its metadata). */
  static async load(path: string): Promise<RegressionTransformer> {
    const { tensors, metadata } = await loadSafetensors(path)
    if (metadata.config === undefined) {
      throw new CheckpointError({ file: path, reason: "no __metadata__.config (not a regression-transformer checkpoint)" })
    }
    let raw: unknown
    try {
      raw = JSON.parse(metadata.config)
    } catch (e) {
      throw new CheckpointError({ file: path, reason: `__metadata__.config is not JSON: ${(e as Error).message}` })
    }
    const config = decodeConfig(raw)
    checkTensors(path, config, tensors)
    const model = new RegressionTransformer(config, tensors)
    model.source = path
    return model
  }

  /** Trainable parameters by name (shared, not copies; do not dispose them). */
  parameters(): Map<string, tf.Variable> {
    return new Map(this.params)
  }

  numParameters(): number {
    let n = 0
    for (const v of this.params.values()) n += v.size
    return n
  }

  private p(name: string): tf.Variable {
    return this.params.get(name) as tf.Variable
  }

  private causalMask(t: number): tf.Tensor {
    let m = this.masks.get(t)
    if (!m) {
      m = tf.keep(tf.tensor3d(causalMaskValues(t), [t, 1, t])) // [T(i), 1, T(j)]
      this.masks.set(t, m)
    }
    return m
  }

  /**
   * xs [B, K, D], ys [B, K] -> preds [B, K] (prediction of y_k from x_1, y_1, ..., x_k) and captured hooks.
   * K may be smaller than maxExamples. Differentiable (call inside tf.variableGrads to train).
   * Unless `opts.allowNonFinite` or `opts.training`, preds holding NaN / +-Inf are a ForwardError naming
   * the first hook (hook_embed, then each hook_resid_post) where non-finite values appear.
   */
  forward(xs: tf.Tensor, ys: tf.Tensor, opts: ForwardOptions = {}): ForwardResult {
    const r = this.pass(xs, ys, opts)
    if (opts.allowNonFinite || opts.training || allFinite(r.preds)) return r
    tf.dispose([r.preds, ...r.captured.values()])
    throw new ForwardError({ field: "", reason: `non-finite values first appear at ${this.firstNonFinite(xs, ys, opts)} of ${this.describe()} (allowNonFinite: true returns them)` })
  }

  private describe(): string {
    return this.source === null ? "a regression transformer not loaded from a file" : this.source
  }

  /** The failure path of forward(): the same pass capturing hook_embed and every hook_resid_post. */
  private firstNonFinite(xs: tf.Tensor, ys: tf.Tensor, opts: ForwardOptions): string {
    const hooks = ["hook_embed", ...Array.from({ length: this.config.nLayers }, (_, l) => `blocks.${l}.hook_resid_post`)]
    const { preds, captured } = this.pass(xs, ys, { interventions: opts.interventions, capture: { hooks, positions: "all" } })
    try {
      const at = hooks.find((h) => !allFinite(captured.get(h) as tf.Tensor))
      if (at === undefined) return "the predictions (ln_final or the read-out; hook_embed and every hook_resid_post are finite)"
      if (at === "hook_embed") {
        const bad = [!allFinite(xs) ? "xs" : null, !allFinite(ys) ? "ys" : null].filter((x) => x !== null)
        if (bad.length > 0) return `hook_embed (the input ${bad.join(" and ")} holds non-finite values)`
      }
      return describeStreamHook(at)
    } finally {
      tf.dispose([preds, ...captured.values()])
    }
  }

  private pass(xs: tf.Tensor, ys: tf.Tensor, opts: ForwardOptions): ForwardResult {
    const c = this.config
    if (xs.rank !== 3 || xs.shape[2] !== c.xDim) {
      throw new ForwardError({ field: "xs", reason: `expected [B, K, ${c.xDim}], got [${xs.shape}]` })
    }
    const [B, K] = xs.shape as [number, number, number]
    if (K > c.maxExamples || K < 1) {
      throw new ForwardError({ field: "xs", reason: `K = ${K} examples, the model takes 1..${c.maxExamples}` })
    }
    if (ys.rank !== 2 || ys.shape[0] !== B || ys.shape[1] !== K) {
      throw new ForwardError({ field: "ys", reason: `expected [${B}, ${K}], got [${ys.shape}]` })
    }
    const T = 2 * K
    const hooks = new HookRunner({ batch: B, pos: T, dModel: c.dModel, nHeads: c.nHeads, nLayers: c.nLayers }, opts)
    const mask = this.causalMask(T)
    const out = tf.tidy(() => {
      const preds = this.run(xs, ys, B, K, hooks, mask)
      return { preds, captured: hooks.captured }
    })
    return { preds: out.preds as tf.Tensor2D, captured: new Map(Object.entries(out.captured)) }
  }

  private run(xs: tf.Tensor, ys: tf.Tensor, B: number, K: number, hooks: HookRunner, mask: tf.Tensor): tf.Tensor {
    const c = this.config
    const T = 2 * K
    const d = c.dModel
    const H = c.nHeads
    const N = B * H // independent attention products
    const dh = d / H
    const D = c.xDim

    // --- tokens and embedding (stream is position-major: [T*B, d], row t*B + b) ---
    const y3 = tf.reshape(ys, [B, K, 1]) // [B, K, 1]
    const xTok = tf.pad(xs, [[0, 0], [0, 0], [0, 1]]) // [B, K, D+1]  (x, 0)
    const yTok =
      c.tokenFormat === "y-scalar"
        ? tf.pad(y3, [[0, 0], [0, 0], [c.yChannel ?? 0, D - (c.yChannel ?? 0)]]) // [B, K, D+1]  y in channel yChannel
        : tf.concat([xs, y3], 2) // [B, K, D+1]  (x, y)
    const tokens = tf.reshape(
      tf.transpose(tf.reshape(tf.stack([xTok, yTok], 2), [B, T, D + 1]), [1, 0, 2]),
      [T * B, D + 1]
    ) // [T*B, D+1]
    const posTable = this.p("pos_embed.W_pos")
    const pos = T === 2 * c.maxExamples ? posTable : tf.slice(posTable, [0, 0], [T, d]) // [T, d]
    let h = linear(tokens, this.p("embed.W_E"), this.p("embed.b_E")) // [T*B, d]
    h = tf.reshape(tf.add(tf.reshape(h, [T, B, d]), tf.reshape(pos, [T, 1, d])), [T * B, d]) // [T*B, d]
    h = hooks.stream("hook_embed", h)

    // --- blocks ---
    for (let l = 0; l < c.nLayers; l++) {
      const p = (n: string) => this.p(`blocks.${l}.${n}`)
      h = hooks.stream(`blocks.${l}.hook_resid_pre`, h)

      // attention; [T, N, dh] is [T, B, H, dh] with the N = B*H products innermost (channelMatmul)
      const a = layerNorm(h, p("ln1.w"), p("ln1.b")) // [T*B, d]
      const q = tf.reshape(linear(a, p("attn.W_Q"), p("attn.b_Q")), [T, N, dh]) // [T(i), N, dh]
      const k = tf.reshape(linear(a, p("attn.W_K"), p("attn.b_K")), [T, N, dh]) // [T(j), N, dh]
      const v = tf.reshape(linear(a, p("attn.W_V"), p("attn.b_V")), [T, N, dh]) // [T(j), N, dh]
      const patternHook = `blocks.${l}.attn.hook_pattern`
      const onPattern = hooks.wants(patternHook) ? (pt: tf.Tensor) => hooks.pattern(patternHook, pt) : undefined // pt [T(i), N, T(j)]
      let z = selfAttention(q, k, v, mask, 1 / Math.sqrt(dh), onPattern) // [T(i), N, dh]
      z = hooks.heads(`blocks.${l}.hook_attn_out`, z)
      const attnOut = hooks.stream(
        `blocks.${l}.hook_attn_out`,
        linear(tf.reshape(z, [T * B, d]), p("attn.W_O"), p("attn.b_O"))
      ) // [T*B, d]
      h = hooks.stream(`blocks.${l}.hook_resid_mid`, tf.add(h, attnOut))

      // MLP
      const m = layerNorm(h, p("ln2.w"), p("ln2.b")) // [T*B, d]
      const mlpOut = hooks.stream(
        `blocks.${l}.hook_mlp_out`,
        linear(gelu(linear(m, p("mlp.W_in"), p("mlp.b_in"))), p("mlp.W_out"), p("mlp.b_out"))
      ) // [T*B, d]
      h = hooks.stream(`blocks.${l}.hook_resid_post`, tf.add(h, mlpOut))
    }

    // --- read-out at x tokens ---
    const f = hooks.stream("ln_final", layerNorm(h, this.p("ln_final.w"), this.p("ln_final.b"))) // [T*B, d]
    const out = tf.reshape(linear(f, this.p("unembed.W_U"), this.p("unembed.b_U")), [K, 2, B]) // [K, (x, y) token, B]
    return tf.transpose(tf.reshape(tf.slice(out, [0, 0, 0], [K, 1, B]), [K, B])) // [B, K]
  }

  /** Convenience: predictions for flat arrays xs [B*K*D], ys [B*K] -> Float32Array [B*K]. */
  predict(xs: Float32Array, ys: Float32Array, batch: number, k: number): Float32Array {
    return tf.tidy(() => {
      const { preds } = this.forward(tf.tensor3d(xs, [batch, k, this.config.xDim]), tf.tensor2d(ys, [batch, k]))
      return preds
    }).dataSync() as Float32Array
  }

  /** Current weights as plain arrays (copies). */
  weights(): Map<string, TensorData> {
    const out = new Map<string, TensorData>()
    for (const [n, v] of this.params) out.set(n, { shape: v.shape, data: v.dataSync() as Float32Array })
    return out
  }

  /** Overwrite weights (all of them; shapes checked, non-finite values refused). */
  setWeights(weights: ReadonlyMap<string, TensorData>, source = "<memory>"): void {
    checkTensors(source, this.config, weights)
    this.source = source === "<memory>" ? null : source
    tf.tidy(() => {
      for (const [n, v] of this.params) {
        const w = weights.get(n) as TensorData
        v.assign(tf.tensor(w.data, v.shape))
      }
    })
  }

  /** Write a safetensors checkpoint; `__metadata__` holds the config JSON plus `metadata`. */
  async save(path: string, metadata: Record<string, string> = {}): Promise<void> {
    await saveSafetensors(path, this.weights(), {
      ...metadata,
      format: CHECKPOINT_FORMAT,
      config: JSON.stringify(this.config)
    })
  }

  /** Load weights from a checkpoint into this model (shapes must match); returns the file's metadata. */
  async loadWeights(path: string): Promise<Record<string, string>> {
    const { tensors, metadata } = await loadSafetensors(path)
    this.setWeights(tensors, path)
    return metadata
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose()
    for (const m of this.masks.values()) m.dispose()
    this.params.clear()
    this.masks.clear()
  }
}

function checkTensors(file: string, config: RegressionTransformerConfig, tensors: ReadonlyMap<string, TensorData>): void {
  const specs = parameterSpecs(config)
  const names = new Set(specs.map((s) => s.name))
  for (const s of specs) {
    const t = tensors.get(s.name)
    if (!t) throw new CheckpointError({ file, tensor: s.name, reason: "missing" })
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new CheckpointError({ file, tensor: s.name, reason: `shape [${t.shape}], the model needs [${s.shape}]` })
    }
    const data = t.data
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        let count = 0
        for (let j = i; j < data.length; j++) if (!Number.isFinite(data[j])) count++
        throw new CheckpointError({ file, tensor: s.name, reason: `non-finite value ${data[i]} at flat index ${i} (${count} non-finite of ${data.length})` })
      }
    }
  }
  for (const n of tensors.keys()) {
    if (!names.has(n)) throw new CheckpointError({ file, tensor: n, reason: "not a parameter of this model" })
  }
}

export const createRegressionTransformer = (config: unknown): RegressionTransformer => RegressionTransformer.create(config)
