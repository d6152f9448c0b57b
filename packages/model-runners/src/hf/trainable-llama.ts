import * as tf from "@tensorflow/tfjs"
import { Rng } from "@conceptscope/core"
import { saveSafetensors, type TensorData } from "@conceptscope/safetensors"
import * as fs from "node:fs"
import * as path from "node:path"
import { ModelConfigError } from "../errors.js"
import { HookRunner } from "../hook-points.js"
import { ConfigReader, type ForwardContext, type WeightSpec } from "./architecture.js"
import type { BuiltTokenizer } from "./build-tokenizer.js"
import { HfCheckpoint } from "./checkpoint.js"
import { Llama, llamaFromConfig } from "./llama.js"
import { LoraAdapter, type LoraSpec } from "./lora.js"
import { embedRows, recordingGradients } from "./ops.js"
import { fusedCrossEntropy, fusedCrossEntropyGrad, fusedKernelsActive } from "@conceptscope/kernels"

/**
 * A Llama-architecture LM trained here: the runner's own `Llama` decoder (the code that runs any Llama
 * checkpoint) applied to weights held as tf.Variables under their Hugging Face names, so the trained model
 * is written as a normal HF directory (`config.json`, `model.safetensors`, `tokenizer.json`) and loads
 * through `CausalLM` like any checkpoint. Under a gradient tape the forward-only fused kernels step aside
 * (ops.ts `recordingGradients`); the matrix products stay on the native kernels.
 */
export interface LlamaSize {
  readonly nLayers: number
  readonly dModel: number
  readonly nHeads: number
  readonly nKvHeads: number
  readonly intermediate: number
  readonly maxPositions: number
  readonly ropeTheta: number
}

export interface SpecialIds {
  readonly bos: number
  readonly eos: number
  readonly pad: number
}

/** config.json of a tied-embedding Llama with `vocab` tokens (HF LlamaConfig fields). */
export function llamaConfigJson(size: LlamaSize, vocab: number, ids: SpecialIds): Record<string, unknown> {
  for (const [k, v] of Object.entries(size)) if (!(Number.isFinite(v) && v > 0)) throw new ModelConfigError({ field: k, reason: `must be a positive number, got ${v}` })
  if (size.dModel % size.nHeads !== 0) throw new ModelConfigError({ field: "dModel", reason: `${size.dModel} is not a multiple of nHeads ${size.nHeads}` })
  if (size.nHeads % size.nKvHeads !== 0) throw new ModelConfigError({ field: "nKvHeads", reason: `nHeads ${size.nHeads} is not a multiple of ${size.nKvHeads}` })
  if ((size.dModel / size.nHeads) % 2 !== 0) throw new ModelConfigError({ field: "nHeads", reason: `head size ${size.dModel / size.nHeads} must be even (rotary embeddings)` })
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: vocab,
    hidden_size: size.dModel,
    intermediate_size: size.intermediate,
    num_hidden_layers: size.nLayers,
    num_attention_heads: size.nHeads,
    num_key_value_heads: size.nKvHeads,
    hidden_act: "silu",
    max_position_embeddings: size.maxPositions,
    rms_norm_eps: 1e-5,
    rope_theta: size.ropeTheta,
    tie_word_embeddings: true,
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: ids.bos,
    eos_token_id: ids.eos,
    pad_token_id: ids.pad,
    torch_dtype: "float32"
  }
}

/**
 * Mean cross-entropy of logits [N, V] against targets [N] (-1: not scored) over `count` scored rows. The
 * log-softmax runs as one kernel; the loss reads the target entries in JS, and the gradient
 * (softmax - onehot) * dy / count is exp(log-softmax) with the target entries adjusted in JS: two kernels
 * over N x V values instead of about ten (one-hot, product, sum and their gradients).
 */
function crossEntropy(logits: tf.Tensor, targets: Int32Array, V: number, count: number): tf.Scalar {
  if (fusedKernelsActive() && logits.dtype === "float32") {
    // one native pass forward (log-sum-exp per row, loss) and one backward (scale (softmax - onehot))
    const fused = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
      const [sum, lse] = fusedCrossEntropy(x, targets) // [1], [N]
      const total = sum.dataSync()[0]
      sum.dispose()
      save([x, lse])
      return { value: tf.scalar(total / count), gradFunc: (dy: tf.Tensor, [sx, slse]: tf.Tensor[]) => [fusedCrossEntropyGrad(sx, slse, targets, dy.dataSync()[0] / count)] }
    }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Scalar
    return fused(logits)
  }
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const logp = tf.logSoftmax(x) // [N, V]
    save([logp])
    const lp = logp.dataSync()
    let total = 0
    for (let r = 0; r < targets.length; r++) if (targets[r] >= 0) total -= lp[r * V + targets[r]]
    return {
      value: tf.scalar(total / count),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const scale = dy.dataSync()[0] / count
        const g = tf.exp(saved[0]).dataSync() as Float32Array // softmax [N*V], a copy
        for (let r = 0; r < targets.length; r++) {
          const row = g.subarray(r * V, (r + 1) * V)
          if (targets[r] < 0) row.fill(0)
          else {
            for (let v = 0; v < V; v++) row[v] *= scale
            row[targets[r]] -= scale
          }
        }
        return [tf.tensor2d(g, [targets.length, V])]
      }
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Scalar
  return f(logits)
}

const llamaOf = (config: Record<string, unknown>) => new Llama(llamaFromConfig(new ConfigReader("config.json", config), "llama"))

/** Every weight a Llama reads, once (the tied embedding appears in embed and final), in a fixed order. */
function weightSpecs(arch: Llama): WeightSpec[] {
  const all = [...arch.embedWeights(), ...Array.from({ length: arch.dims.nLayers }, (_, l) => arch.layerWeights(l)).flat(), ...arch.finalWeights()]
  return [...new Map(all.map((w) => [w.name, w])).values()]
}

export class TrainableLlama {
  readonly arch: Llama
  readonly params: Map<string, tf.Variable>
  private readonly retained: tf.Tensor[] = []
  /** a LoRA adapter being trained (attachLora): then only its A and B are trainable */
  lora: LoraAdapter | null = null
  /** without an adapter, the layers whose weights train (null: every weight) */
  private layers: ReadonlySet<number> | null = null

  private constructor(
    readonly config: Record<string, unknown>,
    weights: ReadonlyMap<string, Float32Array>
  ) {
    this.arch = llamaOf(config)
    this.params = new Map()
    for (const spec of this.specs()) {
      const data = weights.get(spec.name)
      const size = spec.shape.reduce((a, b) => a * b, 1)
      if (!data || data.length !== size) throw new ModelConfigError({ field: spec.name, reason: `need ${size} values, got ${data?.length ?? "none"}` })
      const init = tf.tensor(data, [...spec.shape])
      this.params.set(spec.name, tf.variable(init, true)) // engine-unique names: several models may coexist
      init.dispose()
    }
  }

  /**
   * Train a fresh LoRA adapter (PEFT's init: B = 0, so the model starts unchanged) instead of the weights,
   * which stay as they are.
   */
  attachLora(spec: LoraSpec, seed: number): LoraAdapter {
    this.lora?.dispose()
    this.lora = LoraAdapter.init(this.arch, spec, seed)
    return this.lora
  }

  /** Full finetuning of some layers only: every other weight (embedding, final norm included) stays fixed. */
  trainOnlyLayers(layers: readonly number[]): void {
    for (const l of layers) if (!Number.isInteger(l) || l < 0 || l >= this.arch.dims.nLayers) throw new ModelConfigError({ field: "layers", reason: `${l} is not a layer (0..${this.arch.dims.nLayers - 1})` })
    this.layers = new Set(layers)
  }

  /** The variables an update changes, by name (PEFT key names for an adapter, HF names otherwise). */
  trainable(): Map<string, tf.Variable> {
    if (this.lora) return this.lora.variables()
    const only = this.layers
    if (only === null) return this.params
    return new Map([...this.params].filter(([n]) => only.has(this.arch.layerOf(n) ?? -1)))
  }

  /** Every weight the architecture reads, once. */
  specs(): WeightSpec[] {
    return weightSpecs(this.arch)
  }

  /**
   * Hugging Face's initialisation for Llama (`_init_weights` with initializer_range 0.02): every matrix
   * N(0, 0.02^2), RMSNorm weights 1; drawn from `seed` in a fixed order of names.
   */
  static init(config: Record<string, unknown>, seed: number): TrainableLlama {
    const rng = new Rng(seed)
    const weights = new Map<string, Float32Array>()
    for (const w of weightSpecs(llamaOf(config))) {
      const size = w.shape.reduce((a, b) => a * b, 1)
      weights.set(w.name, w.shape.length === 1 ? new Float32Array(size).fill(1) : rng.fork(w.name).normals(size, 0.02))
    }
    return new TrainableLlama(config, weights)
  }

  static fromWeights(config: Record<string, unknown>, weights: ReadonlyMap<string, Float32Array>): TrainableLlama {
    return new TrainableLlama(config, weights)
  }

  /**
   * A Llama-architecture checkpoint directory (model_type "llama"), every weight read as float32 into
   * memory: finetuning runs in memory, so the model must fit the backend's heap (4 GB on wasm).
   */
  static fromCheckpoint(dir: string): TrainableLlama {
    const ckpt = HfCheckpoint.open(dir)
    try {
      const config = { ...ckpt.config } as Record<string, unknown>
      if (config.model_type !== "llama") throw new ModelConfigError({ field: "model_type", reason: `${JSON.stringify(config.model_type)} in ${dir}: finetuning is implemented for Llama-architecture models` })
      const weights = new Map<string, Float32Array>()
      for (const w of weightSpecs(llamaOf(config))) weights.set(w.name, ckpt.read(w.name, w.shape))
      return new TrainableLlama(config, weights)
    } finally {
      ckpt.close()
    }
  }

  /**
   * Logits of right-padded rows: ids [B*T] row-major (row b, position t at b*T + t) -> [T*B, V]
   * position-major (row t*B + b), or only the position-major rows `rows` [R] -> [R, V]. Positions are 0..T-1; causal attention keeps padding at the end of a
   * row from reaching any earlier token.
   */
  logits(ids: Int32Array, B: number, T: number, rows?: Int32Array, dropoutSeed: string | null = null): tf.Tensor {
    const { dims } = this.arch
    const pm = new Int32Array(T * B) // [T*B] position-major
    const positions = new Int32Array(T * B)
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        pm[t * B + b] = ids[b * T + t]
        positions[t * B + b] = t
      }
    const hooks = new HookRunner({ batch: B, pos: T, dModel: dims.dModel, nHeads: dims.nHeads, nLayers: dims.nLayers, headDim: dims.headDim }, {})
    const lora = this.lora
    const ctx: ForwardContext = { T, B, positions, pad: null, hooks, shared: new Map(), kv: null, lora: lora ? (m, x) => lora.delta(m, x, dropoutSeed) : null }
    const w = this.params as ReadonlyMap<string, tf.Tensor>
    try {
      let h = this.arch.embed(w, tf.tensor1d(pm, "int32"), ctx) // [T*B, d]
      for (let l = 0; l < dims.nLayers; l++) h = this.arch.block(l, w, h, ctx)
      // only the rows asked for reach the head (the final norm and the unembedding are row-wise)
      return this.arch.final(w, rows ? embedRows(h, tf.tensor1d(rows, "int32")) : h, ctx) // [rows or T*B, V]
    } finally {
      // under a tape the backward pass still reads the mask and rotary tables: kept until release()
      if (recordingGradients()) this.retained.push(...ctx.shared.values())
      else tf.dispose([...ctx.shared.values()])
    }
  }

  /** Free what forward passes under a tape kept for their backward pass (call after the gradients). */
  release(): void {
    tf.dispose(this.retained.splice(0))
  }

  /**
   * Mean next-token cross-entropy over the targets: ids, targets [B*T] row-major, targets[b*T + t] the
   * token to predict after position t, or -1 for none (padding, unscored tokens). `dropoutSeed`: training
   * with the adapter's dropout, its masks drawn from this seed.
   */
  loss(ids: Int32Array, targets: Int32Array, B: number, T: number, dropoutSeed: string | null = null): tf.Scalar {
    const V = this.arch.dims.vocab
    const pm = new Int32Array(T * B) // targets position-major
    let count = 0
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const y = targets[b * T + t]
        pm[t * B + b] = y
        if (y >= 0) count++
      }
    if (count === 0) throw new ModelConfigError({ field: "targets", reason: "no token to predict in the batch" })
    if (count === pm.length) return crossEntropy(this.logits(ids, B, T, undefined, dropoutSeed), pm, V, count)
    // some positions unscored (loss on answers only): the head runs on the scored rows alone
    const rows = new Int32Array(count)
    const scored = new Int32Array(count)
    for (let r = 0, k = 0; r < pm.length; r++)
      if (pm[r] >= 0) {
        rows[k] = r
        scored[k++] = pm[r]
      }
    return crossEntropy(this.logits(ids, B, T, rows, dropoutSeed), scored, V, count)
  }

  /** A copy of every weight. */
  weights(): Map<string, Float32Array> {
    return new Map([...this.params].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]))
  }

  dispose(): void {
    this.release()
    this.lora?.dispose()
    tf.dispose([...this.params.values()])
  }
}

/**
 * Write a Hugging Face model directory: config.json, generation_config.json, model.safetensors (float32),
 * tokenizer.json and tokenizer_config.json. Files are written into `dir`, which the caller creates fresh
 * (the artifact store publishes it atomically).
 */
export async function writeHfDirectory(dir: string, config: Record<string, unknown>, weights: ReadonlyMap<string, Float32Array>, tokenizer: BuiltTokenizer, metadata: Record<string, string> = {}): Promise<void> {
  fs.mkdirSync(dir, { recursive: true })
  const tensors = new Map<string, TensorData>()
  for (const w of weightSpecs(llamaOf(config))) {
    const data = weights.get(w.name)
    if (!data || data.length !== w.shape.reduce((a, b) => a * b, 1)) throw new ModelConfigError({ field: w.name, reason: `need ${w.shape.join(" x ")} values, got ${data?.length ?? "none"}` })
    tensors.set(w.name, { shape: w.shape, data })
  }
  await saveSafetensors(path.join(dir, "model.safetensors"), tensors, { format: "pt", ...metadata })
  const json = (f: string, v: unknown) => fs.writeFileSync(path.join(dir, f), JSON.stringify(v, null, 2) + "\n")
  json("config.json", config)
  json("generation_config.json", { bos_token_id: tokenizer.bosId, eos_token_id: tokenizer.eosId, pad_token_id: tokenizer.padId })
  json("tokenizer.json", tokenizer.tokenizer)
  json("tokenizer_config.json", tokenizer.config)
}
