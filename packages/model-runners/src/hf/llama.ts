import * as tf from "@tensorflow/tfjs"
import type { HookName } from "@conceptscope/core"
import { additiveMask, applyRope, attention, ropeInvFreq, ropeTables, type RopeScaling } from "./attention.js"
import { ConfigReader, isRotaryBuffer, type Architecture, type DecoderDims, type ForwardContext, type WeightSpec, type Weights } from "./architecture.js"
import { activation, embedRows, gatedAct, layerNormAffine, linearT, project, rmsNorm } from "./ops.js"

/**
 * Llama family: Llama 2, Llama 3 / 3.1 / 3.2 (llama3 RoPE scaling, tied embeddings), Mistral, Qwen2
 * (q/k/v biases). As HF's modeling_llama.py: pre-RMSNorm blocks, RoPE (rotate_half convention),
 * grouped-query attention, SwiGLU MLP down(act(gate(x)) * up(x)).
 *   block l:  h += o_proj(attn(rope(q_proj(n1(h))), rope(k_proj(n1(h))), v_proj(n1(h))))   [hook_attn_out]
 *             h += down(act(gate(n2(h))) * up(n2(h)))                                          [hook_mlp_out]
 */
export interface LlamaSpec {
  readonly modelType: "llama" | "mistral" | "qwen2" | "olmo"
  /** "rms": RMSNorm with a weight (Llama); "layernorm": LayerNorm without parameters (OLMo). */
  readonly norm: "rms" | "layernorm"
  /** OLMo's clip_qkv: q, k, v projections clamped to [-c, c]; null for none. */
  readonly clipQkv: number | null
  readonly dims: DecoderDims
  readonly intermediate: number
  readonly eps: number
  readonly theta: number
  readonly scaling?: RopeScaling
  readonly qkvBias: boolean
  readonly oBias: boolean
  readonly mlpBias: boolean
  readonly act: (x: tf.Tensor) => tf.Tensor
  readonly tied: boolean
  /** Mistral's sliding window (every layer), or null. */
  readonly window: number | null
}

/** Reads rope_theta / rope_scaling the way HF's rope utils do; other scaling types are refused. */
export function readRope(c: ConfigReader): { theta: number; scaling?: RopeScaling } {
  const theta = c.num("rope_theta", 10000)
  const rs = c.obj("rope_scaling")
  const prf = c.optNum("partial_rotary_factor")
  if (prf !== null && prf !== 1) c.unsupported("partial_rotary_factor", `${prf} (only full rotary embeddings are implemented)`)
  if (!rs) return { theta }
  const type = String(rs.rope_type ?? rs.type ?? "default")
  if (type === "default") return { theta }
  const factor = Number(rs.factor)
  if (!(factor > 0)) c.unsupported("rope_scaling.factor", JSON.stringify(rs.factor))
  if (type === "linear") return { theta, scaling: { type, factor } }
  if (type === "llama3") {
    return {
      theta,
      scaling: { type, factor, lowFreqFactor: Number(rs.low_freq_factor), highFreqFactor: Number(rs.high_freq_factor), originalMaxPositions: Number(rs.original_max_position_embeddings) }
    }
  }
  return c.unsupported("rope_scaling", `type "${type}" (implemented: default, linear, llama3)`)
}

export function llamaFromConfig(c: ConfigReader, modelType: "llama" | "mistral" | "qwen2"): LlamaSpec {
  const d = c.int("hidden_size")
  const nHeads = c.int("num_attention_heads")
  const nKv = c.int("num_key_value_heads", nHeads)
  if (nHeads % nKv !== 0) c.unsupported("num_key_value_heads", `${nHeads} heads are not a multiple of ${nKv}`)
  const dims: DecoderDims = { nLayers: c.int("num_hidden_layers"), dModel: d, nHeads, nKvHeads: nKv, headDim: c.int("head_dim", d / nHeads), vocab: c.int("vocab_size") }
  const actName = c.str("hidden_act", "silu")
  const act = activation(actName)
  if (!act) c.unsupported("hidden_act", `"${actName}"`)
  const attnBias = c.bool("attention_bias", false)
  let window: number | null = null
  if (modelType === "mistral") window = c.optNum("sliding_window")
  if (modelType === "qwen2") {
    if (c.bool("use_sliding_window", false)) c.unsupported("use_sliding_window", "true (Qwen2 sliding-window layers are not implemented)")
    c.optNum("sliding_window")
    c.optNum("max_window_layers")
  }
  const spec: LlamaSpec = {
    modelType,
    norm: "rms",
    clipQkv: null,
    dims,
    intermediate: c.int("intermediate_size"),
    eps: c.num("rms_norm_eps", 1e-6),
    ...readRope(c),
    qkvBias: modelType === "qwen2" || attnBias,
    oBias: attnBias,
    mlpBias: c.bool("mlp_bias", false),
    act: act as (x: tf.Tensor) => tf.Tensor,
    tied: c.bool("tie_word_embeddings", false),
    window
  }
  c.finish(modelType, [])
  return spec
}

/** Shared by the Llama-like families: mask and rotary tables built once per forward. */
export function sharedTensors(ctx: ForwardContext, key: string, make: () => tf.Tensor): tf.Tensor {
  let t = ctx.shared.get(key)
  if (!t) {
    t = tf.keep(make())
    ctx.shared.set(key, t)
  }
  return t
}

export function ropeFor(ctx: ForwardContext, headDim: number, theta: number, scaling?: RopeScaling): { cos: tf.Tensor; sin: tf.Tensor } {
  const key = `rope:${headDim}:${theta}:${JSON.stringify(scaling ?? null)}`
  const inv = ropeInvFreq(headDim, theta, scaling)
  let tables: { cos: tf.Tensor; sin: tf.Tensor } | null = null
  const make = () => (tables ??= ropeTables(ctx.positions, inv))
  const cos = sharedTensors(ctx, `${key}:cos`, () => make().cos)
  const sin = sharedTensors(ctx, `${key}:sin`, () => make().sin)
  return { cos, sin }
}

export const maskFor = (ctx: ForwardContext, window: number | null): tf.Tensor =>
  sharedTensors(ctx, `mask:${window}`, () => additiveMask(ctx.B, ctx.T, ctx.pad, window, ctx.kv?.past ?? 0))

/**
 * With a KV cache: prepend layer l's cached keys/values to the new ones [T*B, Hkv*hd] and store the
 * result (kept outside the forward's tidy scopes; the previous entry is freed). Without: k, v as they are.
 */
export function withCache(ctx: ForwardContext, l: number, k: tf.Tensor, v: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const kv = ctx.kv
  if (!kv) return [k, v]
  const pk = kv.k[l]
  const pv = kv.v[l]
  const kk = pk ? tf.concat([pk, k], 0) : k // [(past+T)*B, Hkv*hd]
  const vv = pv ? tf.concat([pv, v], 0) : v
  kv.k[l] = tf.keep(kk)
  kv.v[l] = tf.keep(vv)
  if (pk) pk.dispose()
  if (pv) pv.dispose()
  return [kk, vv]
}

/** The attention hooks of layer l, wired only when something happens there. */
export function attnHooks(l: number, ctx: ForwardContext) {
  const pattern = `blocks.${l}.attn.hook_pattern` as HookName
  const out = `blocks.${l}.hook_attn_out` as HookName
  return {
    pattern: ctx.hooks.wants(pattern) ? (p: tf.Tensor) => ctx.hooks.pattern(pattern, p) : undefined,
    heads: (z: tf.Tensor) => ctx.hooks.heads(out, z)
  }
}

export const hook = (ctx: ForwardContext, name: string, t: tf.Tensor): tf.Tensor => ctx.hooks.stream(name, t)

/** Layer of a Llama-style tensor name (model.layers.N.*), or null. */
export function llamaLayerOf(name: string): number | null {
  const m = /^model\.layers\.(\d+)\./.exec(name)
  return m ? Number(m[1]) : null
}

/**
 * Tensors HF's Llama-family loading drops: rotary inv_freq buffers, `lm_head.weight` when the embedding
 * is tied (tie_weights() points the head at the embedding after loading), and the fairseq `decoder.version`
 * of LlamaPreTrainedModel's `_keys_to_ignore_on_load_unexpected`.
 */
export const llamaIgnorable = (name: string, tied: boolean): boolean =>
  isRotaryBuffer(name) || (tied && name === "lm_head.weight") || /(^|\.)decoder\.version$/.test(name)

/** The embedding matrix of the Llama-style checkpoints: model.embed_tokens.weight [vocab, d]. */
export const embedSpec = (dims: DecoderDims): WeightSpec => ({ name: "model.embed_tokens.weight", shape: [dims.vocab, dims.dModel] })

/** Layer l's attention (q/k/v/o) and gated-MLP (gate/up/down) projection weights, HF layout [out, in]. */
export function projectionSpecs(l: number, dims: DecoderDims, intermediate: number): WeightSpec[] {
  const { dModel: d, nHeads: H, nKvHeads: K, headDim: hd } = dims
  const p = `model.layers.${l}`
  return [
    { name: `${p}.self_attn.q_proj.weight`, shape: [H * hd, d] },
    { name: `${p}.self_attn.k_proj.weight`, shape: [K * hd, d] },
    { name: `${p}.self_attn.v_proj.weight`, shape: [K * hd, d] },
    { name: `${p}.self_attn.o_proj.weight`, shape: [d, H * hd] },
    { name: `${p}.mlp.gate_proj.weight`, shape: [intermediate, d] },
    { name: `${p}.mlp.up_proj.weight`, shape: [intermediate, d] },
    { name: `${p}.mlp.down_proj.weight`, shape: [d, intermediate] }
  ]
}

export class Llama implements Architecture {
  readonly modelType: string
  readonly dims: DecoderDims
  readonly layersField = "num_hidden_layers"
  readonly tokenEmbedding = "model.embed_tokens.weight"
  constructor(readonly spec: LlamaSpec) {
    this.modelType = spec.modelType
    this.dims = spec.dims
  }

  layerOf(name: string): number | null {
    return llamaLayerOf(name)
  }

  ignorable(name: string): boolean {
    return llamaIgnorable(name, this.spec.tied)
  }

  private norm(x: tf.Tensor, w: tf.Tensor | undefined): tf.Tensor {
    return this.spec.norm === "rms" ? rmsNorm(x, w as tf.Tensor, this.spec.eps) : layerNormAffine(x, this.spec.eps)
  }

  embedWeights(): WeightSpec[] {
    return [embedSpec(this.dims)]
  }

  layerWeights(l: number): WeightSpec[] {
    const { dModel: d, nHeads: H, nKvHeads: K, headDim: hd } = this.dims
    const f = this.spec.intermediate
    const p = `model.layers.${l}`
    const w = projectionSpecs(l, this.dims, f)
    if (this.spec.norm === "rms") w.push({ name: `${p}.input_layernorm.weight`, shape: [d] }, { name: `${p}.post_attention_layernorm.weight`, shape: [d] })
    if (this.spec.qkvBias) w.push({ name: `${p}.self_attn.q_proj.bias`, shape: [H * hd] }, { name: `${p}.self_attn.k_proj.bias`, shape: [K * hd] }, { name: `${p}.self_attn.v_proj.bias`, shape: [K * hd] })
    if (this.spec.oBias) w.push({ name: `${p}.self_attn.o_proj.bias`, shape: [d] })
    if (this.spec.mlpBias) w.push({ name: `${p}.mlp.gate_proj.bias`, shape: [f] }, { name: `${p}.mlp.up_proj.bias`, shape: [f] }, { name: `${p}.mlp.down_proj.bias`, shape: [d] })
    return w
  }

  finalWeights(): WeightSpec[] {
    const { dModel: d, vocab: V } = this.dims
    const norm = this.spec.norm === "rms" ? [{ name: "model.norm.weight", shape: [d] }] : []
    return [...norm, this.spec.tied ? embedSpec(this.dims) : { name: "lm_head.weight", shape: [V, d] }]
  }

  embed(w: Weights, ids: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return hook(ctx, "hook_embed", embedRows(w.get("model.embed_tokens.weight") as tf.Tensor, ids)) // [T*B, d]
  }

  block(l: number, w: Weights, h0: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const { nHeads: H, nKvHeads: K, headDim: hd } = this.dims
    const s = this.spec
    const p = `model.layers.${l}`
    const W = (n: string) => w.get(`${p}.${n}`) as tf.Tensor
    const B = (n: string) => w.get(`${p}.${n}`)
    let h = hook(ctx, `blocks.${l}.hook_resid_pre`, h0) // [T*B, d]
    const x = this.norm(h, B("input_layernorm.weight"))
    const { cos, sin } = ropeFor(ctx, hd, s.theta, s.scaling)
    const lin = (n: string, input: tf.Tensor) => project(ctx, input, `${p}.${n}`, W(`${n}.weight`), B(`${n}.bias`))
    const proj = (n: string) => {
      const y = lin(`self_attn.${n}`, x)
      return s.clipQkv === null ? y : tf.clipByValue(y, -s.clipQkv, s.clipQkv)
    }
    const q = applyRope(proj("q_proj"), H, cos, sin) // [T*B, H*hd]
    const k = applyRope(proj("k_proj"), K, cos, sin) // [T*B, K*hd]
    const [kc, vc] = withCache(ctx, l, k, proj("v_proj")) // [(past+T)*B, K*hd]
    const z = attention(q, kc, vc, { T: ctx.T, B: ctx.B, H, Hkv: K, hd }, { scale: 1 / Math.sqrt(hd), mask: maskFor(ctx, s.window) }, attnHooks(l, ctx))
    const a = hook(ctx, `blocks.${l}.hook_attn_out`, lin("self_attn.o_proj", z)) // [T*B, d]
    h = hook(ctx, `blocks.${l}.hook_resid_mid`, tf.add(h, a))
    const x2 = this.norm(h, B("post_attention_layernorm.weight"))
    const g = lin("mlp.gate_proj", x2) // [T*B, f]
    const u = lin("mlp.up_proj", x2) // [T*B, f]
    const m = lin("mlp.down_proj", gatedAct(s.act, g, u)) // [T*B, d]
    h = tf.add(h, hook(ctx, `blocks.${l}.hook_mlp_out`, m))
    return hook(ctx, `blocks.${l}.hook_resid_post`, h)
  }

  final(w: Weights, h: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const n = hook(ctx, "ln_final", this.norm(h, w.get("model.norm.weight"))) // [T*B, d]
    return linearT(n, w.get(this.spec.tied ? "model.embed_tokens.weight" : "lm_head.weight") as tf.Tensor) // [T*B, V]
  }
}
