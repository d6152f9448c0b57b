import type * as tf from "@tensorflow/tfjs"
import { ModelConfigError } from "../errors.js"
import type { HookRunner } from "../hook-points.js"

/** Sizes every decoder architecture exposes. */
export interface DecoderDims {
  readonly nLayers: number
  readonly dModel: number
  readonly nHeads: number
  readonly nKvHeads: number
  readonly headDim: number
  readonly vocab: number
}

/** A checkpoint tensor (Hugging Face name) and the shape config.json implies for it. */
export interface WeightSpec {
  readonly name: string
  readonly shape: readonly number[]
}

export type Weights = ReadonlyMap<string, tf.Tensor>

/** Per-forward state shared by the blocks. Rows are position-major (row = t*B + b). */
export interface ForwardContext {
  readonly T: number
  readonly B: number
  /** Position id of each row (cumsum of the attention mask - 1, so padding does not shift positions). */
  readonly positions: Int32Array
  /** [B, T] 0/1 attention mask, or null without padding. */
  readonly pad: Uint8Array | null
  readonly hooks: HookRunner
  /** Tensors built once per forward and reused by every layer (masks, rotary tables); disposed at the end. */
  readonly shared: Map<string, tf.Tensor>
  /** Key/value cache for incremental decoding, or null. `pad` then covers past + T positions. */
  readonly kv: KvCache | null
  /** An unmerged adapter's contribution to a linear's output (lora.ts), by module name; none when absent. */
  readonly lora?: LoraDelta | null
}

/** x [N, in] of the linear `module` (HF name without `.weight`) -> the adapter's [N, out], or null. */
export type LoraDelta = (module: string, x: tf.Tensor) => tf.Tensor | null

/**
 * Keys (after RoPE) and values of every layer for the positions already processed, position-major
 * [past*B, Hkv*hd]; `past` is how many positions they hold.
 */
export interface KvCache {
  past: number
  readonly k: (tf.Tensor | null)[]
  readonly v: (tf.Tensor | null)[]
}

/**
 * One Hugging Face decoder family: its weights per stage and its three stages. `embed` maps token
 * ids [T*B] to the stream [T*B, d] (what `hook_embed` sees); `block` runs layer l (calling the hooks
 * for resid_pre/mid/post, attn_out, mlp_out, pattern); `final` applies the last norm (`ln_final`) and
 * the unembedding, returning logits [T*B, vocab]. Each stage gets only its own weights, so the caller
 * can load them layer by layer (layer-streamed execution).
 */
export interface Architecture {
  readonly modelType: string
  readonly dims: DecoderDims
  /** The config.json field that sets dims.nLayers (num_hidden_layers, GPT-2's n_layer). */
  readonly layersField: string
  /** The layer a checkpoint tensor belongs to (from its name), or null for tensors outside the blocks. */
  layerOf(name: string): number | null
  /**
   * Checkpoint tensors this implementation does not read and that Hugging Face's loading also drops
   * without a word (non-persistent buffers saved by older versions, a tied head); any other tensor
   * that no stage reads is an error at load.
   */
  ignorable(name: string): boolean
  embedWeights(): WeightSpec[]
  /**
   * The embed weight [vocab, d] that `embed` reads only by token id (tf.gather of its rows): streamed mode
   * reads just the rows a batch uses and hands `embed` those rows, with the ids renumbered to match.
   */
  readonly tokenEmbedding: string
  layerWeights(l: number): WeightSpec[]
  finalWeights(): WeightSpec[]
  embed(w: Weights, ids: tf.Tensor, ctx: ForwardContext): tf.Tensor
  block(l: number, w: Weights, h: tf.Tensor, ctx: ForwardContext): tf.Tensor
  /** Final norm (hook ln_final) and LM head, h [rows, d] -> logits [rows, V]; row by row, so the caller may reorder the rows when no ln_final hook is set. */
  final(w: Weights, h: tf.Tensor, ctx: ForwardContext): tf.Tensor
}

/**
 * Rotary tables saved by older transformers versions (`model.layers.N.self_attn.rotary_emb.inv_freq`,
 * `model.rotary_emb.inv_freq`): non-persistent buffers now, which HF's loader drops from the unexpected
 * keys (any key containing "rotary_emb.inv_freq"). Recomputed from rope_theta here.
 */
export const isRotaryBuffer = (name: string): boolean => name.includes("rotary_emb.inv_freq")

/** Typed access to config.json fields; every error names the file and the field. */
export class ConfigReader {
  private readonly used = new Set<string>()
  constructor(
    readonly file: string,
    readonly raw: Readonly<Record<string, unknown>>
  ) {}

  private fail(field: string, reason: string): never {
    throw new ModelConfigError({ field: `${this.file}: ${field}`, reason })
  }

  num(field: string, dflt?: number): number {
    this.used.add(field)
    const v = this.raw[field]
    if (v === undefined || v === null) {
      if (dflt === undefined) this.fail(field, "missing")
      return dflt
    }
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(field, `expected a number, got ${JSON.stringify(v)}`)
    return v
  }

  int(field: string, dflt?: number): number {
    const v = this.num(field, dflt)
    if (!Number.isInteger(v) || v < 0) this.fail(field, `expected a non-negative integer, got ${v}`)
    return v
  }

  optNum(field: string): number | null {
    this.used.add(field)
    const v = this.raw[field]
    return v === undefined || v === null ? null : this.num(field)
  }

  bool(field: string, dflt: boolean): boolean {
    this.used.add(field)
    const v = this.raw[field]
    if (v === undefined || v === null) return dflt
    if (typeof v !== "boolean") this.fail(field, `expected true or false, got ${JSON.stringify(v)}`)
    return v
  }

  str(field: string, dflt?: string): string {
    this.used.add(field)
    const v = this.raw[field]
    if (v === undefined || v === null) {
      if (dflt === undefined) this.fail(field, "missing")
      return dflt
    }
    if (typeof v !== "string") this.fail(field, `expected a string, got ${JSON.stringify(v)}`)
    return v
  }

  obj(field: string): Record<string, unknown> | null {
    this.used.add(field)
    const v = this.raw[field]
    if (v === undefined || v === null) return null
    if (typeof v !== "object" || Array.isArray(v)) this.fail(field, `expected an object, got ${JSON.stringify(v)}`)
    return v as Record<string, unknown>
  }

  /** The field is present with a value this implementation cannot honour. */
  unsupported(field: string, reason: string): never {
    this.fail(field, `cannot be honoured: ${reason}`)
  }

  /**
   * Every field must be either read by the architecture or known not to change the forward pass
   * (bookkeeping, training-only, generation defaults); anything else is an error naming it, so nothing
   * is silently ignored.
   */
  finish(modelType: string, inert: readonly string[]): void {
    for (const k of Object.keys(this.raw)) {
      if (this.used.has(k) || k.startsWith("_") || INERT.has(k) || inert.includes(k)) continue
      this.fail(k, `not understood by the ${modelType} implementation (it may change the forward pass; remove it only if it does not)`)
    }
  }
}

/** PretrainedConfig fields that never change a forward pass in evaluation. */
const INERT = new Set([
  "architectures", "model_type", "transformers_version", "torch_dtype", "use_cache", "initializer_range",
  "bos_token_id", "eos_token_id", "pad_token_id", "attention_dropout", "dropout", "hidden_dropout",
  "embd_pdrop", "attn_pdrop", "resid_pdrop", "summary_type", "summary_use_proj", "summary_activation",
  "summary_proj_to_labels", "summary_first_dropout", "task_specific_params", "max_position_embeddings",
  "pretraining_tp", "id2label", "label2id", "output_attentions", "output_hidden_states", "return_dict",
  "is_decoder", "is_encoder_decoder", "tokenizer_class", "cache_implementation", "n_ctx", "use_return_dict",
  "torchscript", "problem_type", "attn_implementation", "tie_encoder_decoder", "chunk_size_feed_forward"
])
