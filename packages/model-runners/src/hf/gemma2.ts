import * as tf from "@tensorflow/tfjs"
import { applyRope, attention } from "./attention.js"
import { ConfigReader, isRotaryBuffer, type Architecture, type DecoderDims, type ForwardContext, type WeightSpec, type Weights } from "./architecture.js"
import { attnHooks, embedSpec, hook, llamaLayerOf, maskFor, projectionSpecs, readRope, ropeFor, withCache } from "./llama.js"
import { activation, gatedAct, linearT, project, rmsNorm, softcap } from "./ops.js"
import type { RopeScaling } from "./attention.js"

/**
 * Gemma-2 (HF modeling_gemma2.py):
 * - embedding scaled by sqrt(hidden_size) (rounded to float32, as HF's `normalizer` in the model dtype);
 * - RMSNorm with (1 + w); four norms per block, around attention and MLP:
 *     h += post_attention_layernorm(attn(input_layernorm(h)))          [hook_attn_out: the normed output]
 *     h += post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h)))  [hook_mlp_out]
 * - gated MLP down(gelu_tanh(gate(x)) * up(x));
 * - attention scale query_pre_attn_scalar^-0.5, logits soft-capped c * tanh(s / c) before the mask;
 * - sliding-window attention on alternate layers (even layers, `not layer_idx % 2`, or `layer_types`);
 * - final logits soft-capped with final_logit_softcapping; embeddings tied.
 */
export interface Gemma2Spec {
  readonly dims: DecoderDims
  readonly intermediate: number
  readonly eps: number
  readonly theta: number
  readonly scaling?: RopeScaling
  readonly act: (x: tf.Tensor) => tf.Tensor
  readonly queryScale: number
  readonly attnSoftcap: number | null
  readonly finalSoftcap: number | null
  readonly window: number | null
  readonly sliding: readonly boolean[]
  readonly attnBias: boolean
}

export function gemma2FromConfig(c: ConfigReader): Gemma2 {
  const d = c.int("hidden_size")
  const nHeads = c.int("num_attention_heads")
  const nKv = c.int("num_key_value_heads", nHeads)
  if (nHeads % nKv !== 0) c.unsupported("num_key_value_heads", `${nHeads} heads are not a multiple of ${nKv}`)
  const nLayers = c.int("num_hidden_layers")
  const headDim = c.int("head_dim", 256)
  const actName = c.str("hidden_activation", c.str("hidden_act", "gelu_pytorch_tanh"))
  const act = activation(actName)
  if (!act) c.unsupported("hidden_activation", `"${actName}"`)
  const types = c.raw.layer_types
  let sliding = Array.from({ length: nLayers }, (_, l) => l % 2 === 0)
  if (Array.isArray(types)) {
    if (types.length !== nLayers || !types.every((t) => t === "sliding_attention" || t === "full_attention")) c.unsupported("layer_types", JSON.stringify(types))
    sliding = types.map((t) => t === "sliding_attention")
  }
  const spec: Gemma2Spec = {
    dims: { nLayers, dModel: d, nHeads, nKvHeads: nKv, headDim, vocab: c.int("vocab_size") },
    intermediate: c.int("intermediate_size"),
    eps: c.num("rms_norm_eps", 1e-6),
    ...readRope(c),
    act: act as (x: tf.Tensor) => tf.Tensor,
    queryScale: Math.pow(c.num("query_pre_attn_scalar", 256), -0.5),
    attnSoftcap: c.optNum("attn_logit_softcapping"),
    finalSoftcap: c.optNum("final_logit_softcapping"),
    window: c.optNum("sliding_window"),
    sliding,
    attnBias: c.bool("attention_bias", false)
  }
  if (!c.bool("tie_word_embeddings", true)) c.unsupported("tie_word_embeddings", "false (Gemma-2 checkpoints tie the embedding)")
  c.finish("gemma2", ["layer_types", "sliding_window_size", "hidden_act"])
  return new Gemma2(spec)
}

export class Gemma2 implements Architecture {
  readonly modelType = "gemma2"
  readonly dims: DecoderDims
  readonly layersField = "num_hidden_layers"
  readonly tokenEmbedding = "model.embed_tokens.weight"
  constructor(readonly spec: Gemma2Spec) {
    this.dims = spec.dims
  }

  layerOf(name: string): number | null {
    return llamaLayerOf(name)
  }

  /** Rotary inv_freq buffers, and lm_head.weight (the head is tied; HF's tie_weights() replaces it). */
  ignorable(name: string): boolean {
    return isRotaryBuffer(name) || name === "lm_head.weight"
  }

  embedWeights(): WeightSpec[] {
    return [embedSpec(this.dims)]
  }

  layerWeights(l: number): WeightSpec[] {
    const { dModel: d, nHeads: H, nKvHeads: K, headDim: hd } = this.dims
    const p = `model.layers.${l}`
    const w: WeightSpec[] = [
      ...["input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm"].map((n) => ({ name: `${p}.${n}.weight`, shape: [d] })),
      ...projectionSpecs(l, this.dims, this.spec.intermediate)
    ]
    if (this.spec.attnBias)
      w.push(...["q", "k", "v"].map((n, i) => ({ name: `${p}.self_attn.${n}_proj.bias`, shape: [(i === 0 ? H : K) * hd] })), { name: `${p}.self_attn.o_proj.bias`, shape: [d] })
    return w
  }

  finalWeights(): WeightSpec[] {
    return [{ name: "model.norm.weight", shape: [this.dims.dModel] }, embedSpec(this.dims)]
  }

  embed(w: Weights, ids: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const e = tf.gather(w.get("model.embed_tokens.weight") as tf.Tensor, ids) // [T*B, d]
    return hook(ctx, "hook_embed", tf.mul(e, Math.fround(Math.sqrt(this.dims.dModel))))
  }

  block(l: number, w: Weights, h0: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const { nHeads: H, nKvHeads: K, headDim: hd } = this.dims
    const s = this.spec
    const p = `model.layers.${l}`
    const W = (n: string) => w.get(`${p}.${n}`) as tf.Tensor
    const Bi = (n: string) => w.get(`${p}.${n}`)
    const norm = (x: tf.Tensor, n: string) => rmsNorm(x, W(`${n}.weight`), s.eps, true)
    let h = hook(ctx, `blocks.${l}.hook_resid_pre`, h0) // [T*B, d]
    const x = norm(h, "input_layernorm")
    const { cos, sin } = ropeFor(ctx, hd, s.theta, s.scaling)
    const lin = (n: string, input: tf.Tensor) => project(ctx, input, `${p}.${n}`, W(`${n}.weight`), Bi(`${n}.bias`))
    const q = applyRope(lin("self_attn.q_proj", x), H, cos, sin) // [T*B, H*hd]
    const k = applyRope(lin("self_attn.k_proj", x), K, cos, sin) // [T*B, K*hd]
    const [kc, vc] = withCache(ctx, l, k, lin("self_attn.v_proj", x)) // [(past+T)*B, K*hd]
    const mask = maskFor(ctx, s.sliding[l] ? s.window : null)
    const z = attention(q, kc, vc, { T: ctx.T, B: ctx.B, H, Hkv: K, hd }, { scale: s.queryScale, softcap: s.attnSoftcap ?? undefined, mask }, attnHooks(l, ctx))
    const a = norm(lin("self_attn.o_proj", z), "post_attention_layernorm") // [T*B, d]
    h = hook(ctx, `blocks.${l}.hook_resid_mid`, tf.add(h, hook(ctx, `blocks.${l}.hook_attn_out`, a)))
    const x2 = norm(h, "pre_feedforward_layernorm")
    const m = lin("mlp.down_proj", gatedAct(s.act, lin("mlp.gate_proj", x2), lin("mlp.up_proj", x2))) // [T*B, d]
    h = tf.add(h, hook(ctx, `blocks.${l}.hook_mlp_out`, norm(m, "post_feedforward_layernorm")))
    return hook(ctx, `blocks.${l}.hook_resid_post`, h)
  }

  final(w: Weights, h: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const n = hook(ctx, "ln_final", rmsNorm(h, w.get("model.norm.weight") as tf.Tensor, this.spec.eps, true)) // [T*B, d]
    const logits = linearT(n, w.get("model.embed_tokens.weight") as tf.Tensor) // [T*B, V]
    return this.spec.finalSoftcap === null ? logits : softcap(logits, this.spec.finalSoftcap)
  }
}
