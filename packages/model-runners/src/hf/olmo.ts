import { ConfigReader } from "./architecture.js"
import { Llama, readRope } from "./llama.js"
import { activation } from "./ops.js"

/**
 * OLMo in the `OlmoForCausalLM` format of the OLMo-7B checkpoints (HF modeling_olmo.py): the Llama
 * block with LayerNorm WITHOUT learnable parameters (eps 1e-5) in place of RMSNorm, and optional
 * `clip_qkv` (q, k and v projections clamped to [-c, c]) before RoPE. The block itself is Llama's.
 */
export function olmoFromConfig(c: ConfigReader): Llama {
  const d = c.int("hidden_size")
  const nHeads = c.int("num_attention_heads")
  const nKv = c.int("num_key_value_heads", nHeads)
  if (nHeads % nKv !== 0) c.unsupported("num_key_value_heads", `${nHeads} heads are not a multiple of ${nKv}`)
  const actName = c.str("hidden_act", "silu")
  const act = activation(actName)
  if (!act) c.unsupported("hidden_act", `"${actName}"`)
  const attnBias = c.bool("attention_bias", false)
  const llama = new Llama({
    modelType: "olmo",
    norm: "layernorm",
    clipQkv: c.optNum("clip_qkv"),
    dims: { nLayers: c.int("num_hidden_layers"), dModel: d, nHeads, nKvHeads: nKv, headDim: d / nHeads, vocab: c.int("vocab_size") },
    intermediate: c.int("intermediate_size"),
    eps: 1e-5,
    ...readRope(c),
    qkvBias: attnBias,
    oBias: attnBias,
    mlpBias: false,
    act,
    tied: c.bool("tie_word_embeddings", false),
    window: null
  })
  c.finish("olmo", [])
  return llama
}
