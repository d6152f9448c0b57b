/**
 * Tensor names, shapes and random init, derived from the final config (so --set hidden_size=... etc.
 * reshape the weights). Shapes follow PyTorch storage: nn.Linear weight [out, in], nn.Embedding
 * [vocab, hidden], GPT-2 Conv1D weight [in, out].
 *
 * Two init profiles:
 * - "lively" (tiny): std = gain / sqrt(fan_in) for matmuls (q/k gain 1.5, lm_head 2), embeddings std 1,
 *   biases std 0.2, norm weights 1 + N(0, 0.1) (gemma2: N(0, 0.1), it scales by 1 + w). Activations keep
 *   O(1) scale, attention is far from uniform, gemma2's logits pass both softcaps and olmo's q/k/v
 *   pass clip_qkv. Plain N(0, 0.02) would leave every such branch untested.
 * - "hf" (100m): N(0, initializer_range) matmuls and embeddings, biases N(0, 0.02), norms 1 + N(0, 0.02).
 */
import type { Arch, Config } from "./configs.js"
import { fillNormal } from "./prng.js"

export type InitProfile = "lively" | "hf"

export interface TensorSpec {
  readonly name: string
  readonly shape: readonly number[] // PyTorch storage order, row-major
  readonly mean: number
  readonly std: number
}

function int(c: Config, key: string, fallback?: number): number {
  const v = c[key] ?? fallback
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new Error(`config.${key} must be a positive integer, got ${JSON.stringify(c[key])}`)
  return v
}

interface Init {
  linear(out: number, inp: number, gain?: number): { mean: number; std: number } // Linear [out, in] or Conv1D [in, out]: fan_in = inp
  embed(): { mean: number; std: number }
  bias(): { mean: number; std: number }
  norm(gemma: boolean): { mean: number; std: number }
}

function initOf(profile: InitProfile, c: Config): Init {
  if (profile === "lively") {
    return {
      linear: (_out, inp, gain = 1) => ({ mean: 0, std: gain / Math.sqrt(inp) }),
      embed: () => ({ mean: 0, std: 1 }),
      bias: () => ({ mean: 0, std: 0.2 }),
      norm: (gemma) => ({ mean: gemma ? 0 : 1, std: 0.1 })
    }
  }
  const r = typeof c.initializer_range === "number" ? c.initializer_range : 0.02
  return {
    linear: () => ({ mean: 0, std: r }),
    embed: () => ({ mean: 0, std: r }),
    bias: () => ({ mean: 0, std: 0.02 }),
    norm: (gemma) => ({ mean: gemma ? 0 : 1, std: 0.02 })
  }
}

/** Llama, Llama 3, Mistral, Qwen2, Gemma2, OLMo: the LlamaForCausalLM layout and its variations. */
function llamaFamily(arch: Arch, c: Config, init: Init): TensorSpec[] {
  const d = int(c, "hidden_size")
  const H = int(c, "num_attention_heads")
  const K = int(c, "num_key_value_heads", H)
  if (H % K !== 0) throw new Error(`num_attention_heads ${H} is not a multiple of num_key_value_heads ${K}`)
  if (c.head_dim == null && d % H !== 0) throw new Error(`hidden_size ${d} is not divisible by num_attention_heads ${H}`)
  const hd = c.head_dim == null ? d / H : int(c, "head_dim")
  const I = int(c, "intermediate_size")
  const L = int(c, "num_hidden_layers")
  const V = int(c, "vocab_size")
  const gemma = arch === "gemma2"
  const norms = arch !== "olmo" // OlmoLayerNorm has no parameters
  const qkvBias = arch === "qwen2" || (arch !== "mistral" && c.attention_bias === true)
  const oBias = arch !== "qwen2" && arch !== "mistral" && c.attention_bias === true
  const mlpBias = arch === "llama3" || arch === "llama" ? c.mlp_bias === true : false
  const specs: TensorSpec[] = []
  const t = (name: string, shape: number[], i: { mean: number; std: number }) => specs.push({ name, shape, ...i })
  const linear = (name: string, out: number, inp: number, bias: boolean, gain?: number) => {
    t(`${name}.weight`, [out, inp], init.linear(out, inp, gain)) // [out, in]
    if (bias) t(`${name}.bias`, [out], init.bias())
  }
  t("model.embed_tokens.weight", [V, d], init.embed()) // [V, d]
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}`
    linear(`${p}.self_attn.q_proj`, H * hd, d, qkvBias, 1.5) // [H*hd, d]
    linear(`${p}.self_attn.k_proj`, K * hd, d, qkvBias, 1.5) // [K*hd, d]
    linear(`${p}.self_attn.v_proj`, K * hd, d, qkvBias) // [K*hd, d]
    linear(`${p}.self_attn.o_proj`, d, H * hd, oBias) // [d, H*hd]
    linear(`${p}.mlp.gate_proj`, I, d, mlpBias) // [I, d]
    linear(`${p}.mlp.up_proj`, I, d, mlpBias) // [I, d]
    linear(`${p}.mlp.down_proj`, d, I, mlpBias) // [d, I]
    if (norms) {
      t(`${p}.input_layernorm.weight`, [d], init.norm(gemma))
      t(`${p}.post_attention_layernorm.weight`, [d], init.norm(gemma))
    }
    if (gemma) {
      t(`${p}.pre_feedforward_layernorm.weight`, [d], init.norm(gemma))
      t(`${p}.post_feedforward_layernorm.weight`, [d], init.norm(gemma))
    }
  }
  if (norms) t("model.norm.weight", [d], init.norm(gemma))
  if (c.tie_word_embeddings !== true) linear("lm_head", V, d, false, 2) // [V, d]
  return specs
}

/** GPT2LMHeadModel (lm_head tied to wte, so not stored). */
function gpt2(c: Config, init: Init): TensorSpec[] {
  const d = int(c, "n_embd")
  const H = int(c, "n_head")
  if (d % H !== 0) throw new Error(`n_embd ${d} is not divisible by n_head ${H}`)
  const inner = int(c, "n_inner", 4 * d)
  const L = int(c, "n_layer")
  const V = int(c, "vocab_size")
  const P = int(c, "n_positions")
  const specs: TensorSpec[] = []
  const t = (name: string, shape: number[], i: { mean: number; std: number }) => specs.push({ name, shape, ...i })
  const conv1d = (name: string, inp: number, out: number) => {
    t(`${name}.weight`, [inp, out], init.linear(out, inp)) // [in, out]
    t(`${name}.bias`, [out], init.bias())
  }
  const layerNorm = (name: string) => {
    t(`${name}.weight`, [d], init.norm(false))
    t(`${name}.bias`, [d], init.bias())
  }
  t("transformer.wte.weight", [V, d], init.embed()) // [V, d]
  t("transformer.wpe.weight", [P, d], init.embed()) // [P, d]
  for (let l = 0; l < L; l++) {
    const p = `transformer.h.${l}`
    layerNorm(`${p}.ln_1`)
    conv1d(`${p}.attn.c_attn`, d, 3 * d) // [d, 3d]: q | k | v along the output axis
    conv1d(`${p}.attn.c_proj`, d, d) // [d, d]
    layerNorm(`${p}.ln_2`)
    conv1d(`${p}.mlp.c_fc`, d, inner) // [d, inner]
    conv1d(`${p}.mlp.c_proj`, inner, d) // [inner, d]
  }
  layerNorm("transformer.ln_f")
  if (c.tie_word_embeddings === false) t("lm_head.weight", [V, d], init.linear(V, d, 2)) // [V, d]
  return specs
}

export function tensorSpecs(arch: Arch, config: Config, profile: InitProfile): TensorSpec[] {
  const init = initOf(profile, config)
  return arch === "gpt2" ? gpt2(config, init) : llamaFamily(arch, config, init)
}

/** The float32 values of one tensor: a function of (seed, name, mean, std, numel) only. */
export function tensorValues(spec: TensorSpec, seed: number): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1)
  return fillNormal(new Float32Array(n), seed, spec.name, spec.mean, spec.std)
}

export const parameterCount = (specs: readonly TensorSpec[]): number =>
  specs.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0)
