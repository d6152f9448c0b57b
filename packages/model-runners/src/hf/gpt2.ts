import * as tf from "@tensorflow/tfjs"
import { attention } from "./attention.js"
import { ConfigReader, type Architecture, type DecoderDims, type ForwardContext, type WeightSpec, type Weights } from "./architecture.js"
import { attnHooks, hook, maskFor, withCache } from "./llama.js"
import { activation, layerNormAffine } from "./ops.js"

/**
 * GPT-2 (HF modeling_gpt2.py): learned positions added to the token embedding, pre-LayerNorm blocks
 * with biases, fused `c_attn` (Conv1D: weight [d, 3d], y = x W + b, split into q, k, v), scale
 * 1/sqrt(d_head), MLP c_fc -> gelu_new -> c_proj, ln_f, head tied to wte. Tensor names with or
 * without the `transformer.` prefix.
 */
export interface Gpt2Spec {
  readonly dims: DecoderDims
  readonly nPositions: number
  readonly inner: number
  readonly eps: number
  readonly act: (x: tf.Tensor) => tf.Tensor
  readonly prefix: string
}

export function gpt2FromConfig(c: ConfigReader, hasPrefix: boolean): Gpt2 {
  const d = c.int("n_embd")
  const H = c.int("n_head")
  const actName = c.str("activation_function", "gelu_new")
  const act = activation(actName)
  if (!act) c.unsupported("activation_function", `"${actName}"`)
  if (c.bool("scale_attn_by_inverse_layer_idx", false)) c.unsupported("scale_attn_by_inverse_layer_idx", "true")
  if (!c.bool("scale_attn_weights", true)) c.unsupported("scale_attn_weights", "false")
  c.bool("reorder_and_upcast_attn", false) // float32 everywhere already
  if (!c.bool("tie_word_embeddings", true)) c.unsupported("tie_word_embeddings", "false")
  const inner = c.optNum("n_inner") ?? 4 * d
  const spec: Gpt2Spec = {
    dims: { nLayers: c.int("n_layer"), dModel: d, nHeads: H, nKvHeads: H, headDim: d / H, vocab: c.int("vocab_size") },
    nPositions: c.int("n_positions"),
    inner,
    eps: c.num("layer_norm_epsilon", 1e-5),
    act: act as (x: tf.Tensor) => tf.Tensor,
    prefix: hasPrefix ? "transformer." : ""
  }
  c.finish("gpt2", ["n_ctx"])
  return new Gpt2(spec)
}

export class Gpt2 implements Architecture {
  readonly modelType = "gpt2"
  readonly dims: DecoderDims
  readonly layersField = "n_layer"
  readonly tokenEmbedding: string
  constructor(readonly spec: Gpt2Spec) {
    this.dims = spec.dims
    this.tokenEmbedding = `${spec.prefix}wte.weight`
  }

  layerOf(name: string): number | null {
    const m = /^(?:transformer\.)?h\.(\d+)\./.exec(name)
    return m ? Number(m[1]) : null
  }

  /**
   * The causal-mask buffers `h.N.attn.bias` and `h.N.attn.masked_bias` (GPT-2's
   * `_keys_to_ignore_on_load_unexpected`; non-persistent buffers in current transformers), and
   * `lm_head.weight` (tied to wte; HF's tie_weights() replaces it).
   */
  ignorable(name: string): boolean {
    return /^(?:transformer\.)?h\.\d+\.attn\.(?:bias|masked_bias)$/.test(name) || name === "lm_head.weight"
  }

  embedWeights(): WeightSpec[] {
    const { dModel: d, vocab: V } = this.dims
    const p = this.spec.prefix
    return [{ name: `${p}wte.weight`, shape: [V, d] }, { name: `${p}wpe.weight`, shape: [this.spec.nPositions, d] }]
  }

  layerWeights(l: number): WeightSpec[] {
    const d = this.dims.dModel
    const f = this.spec.inner
    const p = `${this.spec.prefix}h.${l}`
    return [
      { name: `${p}.ln_1.weight`, shape: [d] }, { name: `${p}.ln_1.bias`, shape: [d] },
      { name: `${p}.attn.c_attn.weight`, shape: [d, 3 * d] }, { name: `${p}.attn.c_attn.bias`, shape: [3 * d] },
      { name: `${p}.attn.c_proj.weight`, shape: [d, d] }, { name: `${p}.attn.c_proj.bias`, shape: [d] },
      { name: `${p}.ln_2.weight`, shape: [d] }, { name: `${p}.ln_2.bias`, shape: [d] },
      { name: `${p}.mlp.c_fc.weight`, shape: [d, f] }, { name: `${p}.mlp.c_fc.bias`, shape: [f] },
      { name: `${p}.mlp.c_proj.weight`, shape: [f, d] }, { name: `${p}.mlp.c_proj.bias`, shape: [d] }
    ]
  }

  finalWeights(): WeightSpec[] {
    const { dModel: d, vocab: V } = this.dims
    const p = this.spec.prefix
    return [{ name: `${p}ln_f.weight`, shape: [d] }, { name: `${p}ln_f.bias`, shape: [d] }, { name: `${p}wte.weight`, shape: [V, d] }]
  }

  embed(w: Weights, ids: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const p = this.spec.prefix
    const pos = tf.tensor1d(ctx.positions, "int32") // [T*B]
    const e = tf.add(tf.gather(w.get(`${p}wte.weight`) as tf.Tensor, ids), tf.gather(w.get(`${p}wpe.weight`) as tf.Tensor, pos)) // [T*B, d]
    return hook(ctx, "hook_embed", e)
  }

  block(l: number, w: Weights, h0: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const { nHeads: H, headDim: hd } = this.dims
    const p = `${this.spec.prefix}h.${l}`
    const W = (n: string) => w.get(`${p}.${n}`) as tf.Tensor
    const conv1d = (x: tf.Tensor, n: string) => tf.add(tf.matMul(x, W(`${n}.weight`)), W(`${n}.bias`)) // Conv1D: x W + b
    let h = hook(ctx, `blocks.${l}.hook_resid_pre`, h0) // [T*B, d]
    const qkv = conv1d(layerNormAffine(h, this.spec.eps, W("ln_1.weight"), W("ln_1.bias")), "attn.c_attn") // [T*B, 3d]
    const [q, k, v] = tf.split(qkv, 3, 1) // [T*B, d] each
    const [kc, vc] = withCache(ctx, l, k, v) // [(past+T)*B, d]
    const z = attention(q, kc, vc, { T: ctx.T, B: ctx.B, H, Hkv: H, hd }, { scale: 1 / Math.sqrt(hd), mask: maskFor(ctx, null) }, attnHooks(l, ctx))
    h = hook(ctx, `blocks.${l}.hook_resid_mid`, tf.add(h, hook(ctx, `blocks.${l}.hook_attn_out`, conv1d(z, "attn.c_proj"))))
    const m = conv1d(this.spec.act(conv1d(layerNormAffine(h, this.spec.eps, W("ln_2.weight"), W("ln_2.bias")), "mlp.c_fc")), "mlp.c_proj") // [T*B, d]
    h = tf.add(h, hook(ctx, `blocks.${l}.hook_mlp_out`, m))
    return hook(ctx, `blocks.${l}.hook_resid_post`, h)
  }

  final(w: Weights, h: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const p = this.spec.prefix
    const n = hook(ctx, "ln_final", layerNormAffine(h, this.spec.eps, w.get(`${p}ln_f.weight`), w.get(`${p}ln_f.bias`))) // [T*B, d]
    return tf.matMul(n, w.get(`${p}wte.weight`) as tf.Tensor, false, true) // [T*B, V]
  }
}
