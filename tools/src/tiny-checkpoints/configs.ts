/**
 * config.json per architecture, with transformers' field names. `tiny` presets have deliberately
 * awkward shapes (GQA, head_dim * heads != hidden for gemma2, odd vocab sizes) and small thresholds so
 * that softcapping (gemma2), QKV clipping (olmo) and llama3 rope scaling take effect on short inputs;
 * `100m` gives any arch Llama-like dims of ~100M parameters (hidden 768, 12 layers, 12 heads, 4 kv heads,
 * intermediate 2048, vocab 32000, tied embeddings) for benchmarks.
 */
import { applyOverrides, OverrideError } from "@conceptscope/core"
import type { Dtype as StoredDtype } from "@conceptscope/safetensors"
import { tokenizerLayout } from "./tokenizer.js"

/** Weight dtypes by their CLI names, with torch's name (config.json torch_dtype) and safetensors' name. */
export type Dtype = "f32" | "bf16" | "f16"
export const TORCH_DTYPE: Record<Dtype, string> = { f32: "float32", bf16: "bfloat16", f16: "float16" }
export const SAFETENSORS_DTYPE: Record<Dtype, StoredDtype> = { f32: "F32", bf16: "BF16", f16: "F16" }

export const ARCHS = ["llama", "llama3", "mistral", "qwen2", "gemma2", "olmo", "gpt2"] as const
export type Arch = (typeof ARCHS)[number]
export const SIZES = ["tiny", "100m"] as const
export type Size = (typeof SIZES)[number]
export type Config = Record<string, unknown>

export const TRANSFORMERS_VERSION = "4.46.0"

function tinyPreset(arch: Arch): Config {
  const common = { attention_dropout: 0.0, hidden_act: "silu", initializer_range: 0.02, max_position_embeddings: 64, use_cache: true }
  switch (arch) {
    case "llama": // Llama-2 style: head_dim implied (24 / 3 = 8), 3 q heads share 1 kv head
      return { ...common, architectures: ["LlamaForCausalLM"], model_type: "llama", attention_bias: false, mlp_bias: false,
        hidden_size: 24, num_attention_heads: 3, num_key_value_heads: 1, intermediate_size: 40, num_hidden_layers: 2,
        vocab_size: 300, rms_norm_eps: 1e-5, rope_theta: 10000.0, rope_scaling: null, pretraining_tp: 1, tie_word_embeddings: false }
    case "llama3": // original_max_position_embeddings 16: the llama3 frequency scaling bites at short lengths
      return { ...common, architectures: ["LlamaForCausalLM"], model_type: "llama", attention_bias: false, mlp_bias: false,
        hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, intermediate_size: 48, num_hidden_layers: 2,
        vocab_size: 320, rms_norm_eps: 1e-5, rope_theta: 500000.0, pretraining_tp: 1, tie_word_embeddings: true,
        rope_scaling: { rope_type: "llama3", factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 16 } }
    case "mistral":
      return { ...common, architectures: ["MistralForCausalLM"], model_type: "mistral", hidden_size: 24, num_attention_heads: 6,
        num_key_value_heads: 2, head_dim: 4, intermediate_size: 44, num_hidden_layers: 2, vocab_size: 310, rms_norm_eps: 1e-5,
        rope_theta: 10000.0, sliding_window: null, tie_word_embeddings: false }
    case "qwen2": // q/k/v carry biases (always, in Qwen2), o_proj does not
      return { ...common, architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", hidden_size: 20, num_attention_heads: 5,
        num_key_value_heads: 1, intermediate_size: 36, num_hidden_layers: 2, vocab_size: 290, rms_norm_eps: 1e-6,
        rope_theta: 1000000.0, use_sliding_window: false, sliding_window: 64, max_window_layers: 2, tie_word_embeddings: true }
    case "gemma2": // 2 heads x 16 = 32 != hidden 24; caps small enough for the random weights to hit them
      return { ...common, architectures: ["Gemma2ForCausalLM"], model_type: "gemma2", hidden_size: 24, num_attention_heads: 2,
        num_key_value_heads: 1, head_dim: 16, intermediate_size: 36, num_hidden_layers: 4, vocab_size: 288, rms_norm_eps: 1e-6,
        rope_theta: 10000.0, attention_bias: false, hidden_act: "gelu_pytorch_tanh", hidden_activation: "gelu_pytorch_tanh",
        query_pre_attn_scalar: 16, sliding_window: 4, attn_logit_softcapping: 2.0, final_logit_softcapping: 3.0,
        cache_implementation: "hybrid", tie_word_embeddings: true }
    case "olmo": // no norm weights (non-parametric LayerNorm); clip_qkv 0.5 clips most q/k/v entries
      return { ...common, architectures: ["OlmoForCausalLM"], model_type: "olmo", hidden_size: 24, num_attention_heads: 3,
        num_key_value_heads: 3, intermediate_size: 40, num_hidden_layers: 2, vocab_size: 304, attention_bias: false,
        clip_qkv: 0.5, rope_theta: 10000.0, rope_scaling: null, tie_word_embeddings: false }
    case "gpt2": // Conv1D weights are stored [in, out]
      return { activation_function: "gelu_new", architectures: ["GPT2LMHeadModel"], model_type: "gpt2", n_embd: 24, n_head: 3,
        n_layer: 2, n_positions: 64, n_inner: null, vocab_size: 300, attn_pdrop: 0.1, embd_pdrop: 0.1, resid_pdrop: 0.1,
        initializer_range: 0.02, layer_norm_epsilon: 1e-5, scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false,
        reorder_and_upcast_attn: false, summary_activation: null, summary_first_dropout: 0.1, summary_proj_to_labels: true,
        summary_type: "cls_index", summary_use_proj: true, tie_word_embeddings: true, use_cache: true }
  }
}

function size100m(arch: Arch, c: Config): Config {
  if (arch === "gpt2") return { ...c, n_embd: 768, n_head: 12, n_layer: 12, n_positions: 1024, vocab_size: 32000 }
  const out: Config = { ...c, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, num_key_value_heads: 4,
    intermediate_size: 2048, vocab_size: 32000, max_position_embeddings: 2048, tie_word_embeddings: true }
  if ("head_dim" in c) out.head_dim = 64
  if (arch === "llama3") out.rope_scaling = { ...(c.rope_scaling as Config), original_max_position_embeddings: 8192 }
  if (arch === "qwen2") Object.assign(out, { sliding_window: 2048, max_window_layers: 12 })
  if (arch === "olmo") out.clip_qkv = 8.0
  if (arch === "gemma2") {
    Object.assign(out, { query_pre_attn_scalar: 64, sliding_window: 1024, attn_logit_softcapping: 50.0, final_logit_softcapping: 30.0 })
  }
  return out
}

/**
 * Applies "key=value" overrides (core's applyOverrides); key may be dotted (rope_scaling.factor) and may
 * start with "config."; value is parsed as JSON when it parses (8, 1e-5, true, null, {"a":1}), else kept
 * as a string.
 */
export function applySets(config: Config, sets: readonly string[]): Config {
  const stripped = sets.map((s) => s.replace(/^config\./, ""))
  for (const s of stripped) {
    const key = s.slice(0, Math.max(0, s.indexOf("="))).split(".")[0]
    if (key === "torch_dtype" || key === "model_type") throw new Error(`--set ${key}: use --dtype / --arch instead`)
  }
  try {
    return applyOverrides(config, stripped)
  } catch (e) {
    throw new Error(e instanceof OverrideError ? e.message : String(e))
  }
}

/** Token ids, dtype and version stamped onto the (possibly overridden) config; keys sorted like HF writes them. */
export function buildConfig(arch: Arch, size: Size, dtype: Dtype, sets: readonly string[] = []): Config {
  const tok = tokenizerLayout(arch)
  let c = tinyPreset(arch)
  if (size === "100m") c = size100m(arch, c)
  const bosId = arch === "qwen2" ? tok.eos.id : (tok.bos?.id ?? null) // Qwen2's config names <|endoftext|> as bos
  c = { ...c, bos_token_id: bosId, eos_token_id: tok.eos.id }
  if (tok.pad !== null && arch !== "qwen2") c.pad_token_id = tok.pad.id
  c = applySets(c, sets)
  c.torch_dtype = TORCH_DTYPE[dtype]
  c.transformers_version = TRANSFORMERS_VERSION
  const vocab = c.vocab_size
  if (!Number.isInteger(vocab) || (vocab as number) < tok.size) {
    throw new Error(`vocab_size must be an integer >= ${tok.size} (the tokenizer's size), got ${JSON.stringify(vocab)}`)
  }
  return Object.fromEntries(Object.entries(c).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** generation_config.json */
export function generationConfig(config: Config): Config {
  const g: Config = { _from_model_config: true }
  if (config.bos_token_id !== null && config.bos_token_id !== undefined) g.bos_token_id = config.bos_token_id
  g.eos_token_id = config.eos_token_id
  if (config.pad_token_id !== undefined) g.pad_token_id = config.pad_token_id
  if (config.model_type === "gemma2") g.cache_implementation = "hybrid"
  g.transformers_version = TRANSFORMERS_VERSION
  return g
}

/** Context length of a config (gpt2: n_positions). */
export const maxLength = (c: Config): number => Number(c.model_type === "gpt2" ? c.n_positions : c.max_position_embeddings)
