import * as tf from "@tensorflow/tfjs"
import { Rng } from "@conceptscope/core"
import { SafetensorsReader, saveSafetensors, type TensorData } from "@conceptscope/safetensors"
import * as fs from "node:fs"
import * as path from "node:path"
import { CheckpointError, ModelConfigError } from "../errors.js"
import type { Architecture } from "./architecture.js"

/**
 * LoRA adapters (Hu et al. 2021) in Hugging Face PEFT's layout. A targeted linear W [out, in] of layer l
 * computes
 *   y = x W^T + scale * (drop(x) A^T) B^T,   A [r, in], B [out, r], scale = alpha / r (alpha / sqrt(r) with rsLoRA)
 * with dropout on the adapter's input only (PEFT's `lora_dropout`), and merges as W + scale * B A.
 * On disk (PEFT's save_pretrained): `adapter_config.json` and `adapter_model.safetensors` whose keys are
 * `base_model.model.<module>.lora_A.weight` / `.lora_B.weight`, <module> the HF name of the linear without
 * `.weight` (e.g. `model.layers.3.self_attn.q_proj`).
 */
export const LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const
export type LoraTarget = (typeof LORA_TARGETS)[number]

export interface LoraSpec {
  readonly r: number
  readonly alpha: number
  readonly dropout: number
  readonly targets: readonly LoraTarget[]
  readonly layers: readonly number[]
  readonly rslora?: boolean
}

/** The study's defaults (rank 16, alpha 16, dropout 0.1), on every projection. */
export const STUDY_LORA: Omit<LoraSpec, "layers"> = { r: 16, alpha: 16, dropout: 0.1, targets: LORA_TARGETS }

const KEY_PREFIX = "base_model.model."
const CONFIG_FILE = "adapter_config.json"
const WEIGHTS_FILE = "adapter_model.safetensors"

/** The HF module name of target t in layer l (Llama, Mistral, Qwen2, OLMo and Gemma-2 share it). */
export const loraModule = (l: number, t: LoraTarget) => `model.layers.${l}.${["gate_proj", "up_proj", "down_proj"].includes(t) ? "mlp" : "self_attn"}.${t}`

/** [out, in] of every linear the architecture has, by module name. */
function linearShapes(arch: Architecture): Map<string, readonly number[]> {
  const out = new Map<string, readonly number[]>()
  for (let l = 0; l < arch.dims.nLayers; l++)
    for (const w of arch.layerWeights(l)) if (w.name.endsWith("_proj.weight") && w.shape.length === 2) out.set(w.name.slice(0, -".weight".length), w.shape)
  return out
}

export class LoraAdapter {
  private constructor(
    readonly spec: LoraSpec,
    /** module -> A [r, in], B [out, r]; tf.Variables when trainable */
    readonly tensors: ReadonlyMap<string, { readonly A: tf.Tensor; readonly B: tf.Tensor }>
  ) {}

  get scale(): number {
    return this.spec.rslora ? this.spec.alpha / Math.sqrt(this.spec.r) : this.spec.alpha / this.spec.r
  }

  modules(): string[] {
    return [...this.tensors.keys()]
  }

  /** Variables to train, under their PEFT key names. */
  variables(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>()
    for (const [m, { A, B }] of this.tensors) {
      if (!(A instanceof tf.Variable) || !(B instanceof tf.Variable)) throw new ModelConfigError({ field: "lora", reason: "a loaded adapter is not trainable (LoraAdapter.init makes one)" })
      out.set(`${KEY_PREFIX}${m}.lora_A.weight`, A)
      out.set(`${KEY_PREFIX}${m}.lora_B.weight`, B)
    }
    return out
  }

  /**
   * PEFT's initialisation: A ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B = 0, so the
   * adapted model starts equal to the base. Drawn from `seed` per module name; A and B are trainable.
   */
  static init(arch: Architecture, spec: LoraSpec, seed: number): LoraAdapter {
    checkSpec(spec, arch)
    const shapes = linearShapes(arch)
    const tensors = new Map<string, { A: tf.Variable; B: tf.Variable }>()
    for (const l of [...spec.layers].sort((a, b) => a - b))
      for (const t of spec.targets) {
        const m = loraModule(l, t)
        const [outF, inF] = shapes.get(m)!
        const rng = new Rng(seed).fork(`lora:${m}`)
        const bound = 1 / Math.sqrt(inF)
        const a = Float32Array.from({ length: spec.r * inF }, () => (2 * rng.uniform() - 1) * bound)
        tensors.set(m, { A: tf.variable(tf.tensor2d(a, [spec.r, inF]), true), B: tf.variable(tf.zeros([outF, spec.r]), true) })
      }
    return new LoraAdapter(spec, tensors)
  }

  /**
   * A PEFT adapter directory, checked against the architecture: every key must name a linear the model
   * has, with A [r, in] and B [out, r]; configuration PEFT features this runner does not implement (DoRA,
   * adapter biases, fan_in_fan_out, per-module rank or alpha patterns, modules_to_save) are refused.
   * Errors name the file, the field or tensor, and the reason.
   */
  static load(dir: string, arch: Architecture): LoraAdapter {
    const cfgFile = path.join(dir, CONFIG_FILE)
    let cfg: Record<string, unknown>
    try {
      cfg = JSON.parse(fs.readFileSync(cfgFile, "utf8"))
    } catch (e) {
      throw new CheckpointError({ file: cfgFile, reason: `cannot read the adapter config: ${(e as Error).message.split("\n")[0]}` })
    }
    const bad = (field: string, reason: string) => new CheckpointError({ file: cfgFile, tensor: field, reason })
    if (cfg.peft_type !== "LORA") throw bad("peft_type", `${JSON.stringify(cfg.peft_type)} is not "LORA"`)
    const r = cfg.r
    const alpha = cfg.lora_alpha ?? 8
    if (!Number.isInteger(r) || (r as number) <= 0) throw bad("r", `must be a positive integer, got ${JSON.stringify(r)}`)
    if (typeof alpha !== "number" || !(alpha > 0)) throw bad("lora_alpha", `must be a positive number, got ${JSON.stringify(alpha)}`)
    if (cfg.use_dora === true) throw bad("use_dora", "DoRA adapters are not implemented")
    if ((cfg.bias ?? "none") !== "none") throw bad("bias", `${JSON.stringify(cfg.bias)}: adapter biases are not implemented (only "none")`)
    if (cfg.fan_in_fan_out === true) throw bad("fan_in_fan_out", "true is for GPT-2-style Conv1D weights; this runner's adapters are for [out, in] linears")
    for (const f of ["rank_pattern", "alpha_pattern"]) if (cfg[f] && Object.keys(cfg[f] as object).length > 0) throw bad(f, "per-module ranks or alphas are not implemented")
    if (Array.isArray(cfg.modules_to_save) && cfg.modules_to_save.length > 0) throw bad("modules_to_save", "fully trained extra modules are not implemented")
    for (const f of ["lora_bias", "use_qalora", "use_bdlora"]) if (cfg[f] === true) throw bad(f, "this LoRA variant is not implemented")
    for (const f of ["layer_replication", "trainable_token_indices", "target_parameters"]) if (cfg[f] !== undefined && cfg[f] !== null) throw bad(f, "not implemented (must be null)")
    // initialisations that rewrite the base weights (PiSSA, OLoRA, CorDA, LoftQ, ...) need that rewritten model
    if (cfg.init_lora_weights !== undefined && ![true, false, "gaussian"].includes(cfg.init_lora_weights as never))
      throw bad("init_lora_weights", `${JSON.stringify(cfg.init_lora_weights)} changes the base weights; only adapters over the unchanged base model are applied`)
    const wFile = path.join(dir, WEIGHTS_FILE)
    if (!fs.existsSync(wFile)) throw new CheckpointError({ file: wFile, reason: "missing (PEFT adapters in .bin format are not read: save with safe_serialization)" })
    const reader = SafetensorsReader.open(wFile)
    try {
      const shapes = linearShapes(arch)
      const parts = new Map<string, { A?: TensorData; B?: TensorData }>()
      for (const [key, info] of reader.tensors) {
        const m = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/.exec(key)
        if (!m) throw new CheckpointError({ file: wFile, tensor: key, reason: "not a LoRA key (base_model.model.<module>.lora_A.weight or lora_B.weight)" })
        const [, module, which] = m
        const shape = shapes.get(module)
        if (!shape) throw new CheckpointError({ file: wFile, tensor: key, reason: `${module} is not a linear of this ${arch.modelType} model` })
        const [outF, inF] = shape
        const want = which === "A" ? [r as number, inF] : [outF, r as number]
        if (info.shape.length !== 2 || info.shape[0] !== want[0] || info.shape[1] !== want[1]) throw new CheckpointError({ file: wFile, tensor: key, reason: `shape [${info.shape.join(", ")}], expected [${want.join(", ")}] (r ${r})` })
        parts.set(module, { ...parts.get(module), [which]: { shape: want, data: reader.read(key) } })
      }
      for (const [module, p] of parts) if (!p.A || !p.B) throw new CheckpointError({ file: wFile, tensor: module, reason: `has lora_${p.A ? "A" : "B"} but not lora_${p.A ? "B" : "A"}` })
      if (parts.size === 0) throw new CheckpointError({ file: wFile, reason: "no LoRA tensors" })
      const tensors = new Map([...parts].map(([m, p]) => [m, { A: tf.tensor2d(p.A!.data, p.A!.shape as [number, number]), B: tf.tensor2d(p.B!.data, p.B!.shape as [number, number]) }]))
      const modules = [...parts.keys()]
      const layerOf = (m: string) => Number(/^model\.layers\.(\d+)\./.exec(m)?.[1] ?? -1)
      const spec: LoraSpec = {
        r: r as number,
        alpha,
        dropout: typeof cfg.lora_dropout === "number" ? cfg.lora_dropout : 0,
        targets: LORA_TARGETS.filter((t) => modules.some((m) => m.endsWith(`.${t}`))),
        layers: [...new Set(modules.map(layerOf))].sort((a, b) => a - b),
        rslora: cfg.use_rslora === true
      }
      return new LoraAdapter(spec, tensors)
    } finally {
      reader.close()
    }
  }

  /**
   * The adapter's contribution to module `m`'s output for input x [N, in] -> [N, out], or null when the
   * module is not adapted. `dropoutSeed`: training, with PEFT's inverted dropout on the adapter's input,
   * its mask drawn from (seed, module).
   */
  delta(m: string, x: tf.Tensor, dropoutSeed: string | null = null): tf.Tensor | null {
    const t = this.tensors.get(m)
    if (!t) return null
    let xin = x
    const p = this.spec.dropout
    if (dropoutSeed !== null && p > 0) xin = tf.mul(x, tf.tensor(dropoutMask(x.size, p, `${dropoutSeed}:${m}`), x.shape))
    const low = tf.matMul(xin, t.A, false, true) // [N, r]
    return tf.mul(tf.matMul(low, t.B, false, true), this.scale) // [N, out]
  }

  /** W + scale * B A for module m's weight W [out, in] (a new tensor). */
  merged(m: string, W: tf.Tensor): tf.Tensor {
    const t = this.tensors.get(m)!
    return tf.tidy(() => tf.add(W, tf.mul(tf.matMul(t.B, t.A), this.scale)))
  }

  /** Replace, in a map of weights by HF name, each adapted module's weight by its merged one (disposing the old). */
  mergeInto(w: Map<string, tf.Tensor>): void {
    for (const m of this.tensors.keys()) {
      const name = `${m}.weight`
      const W = w.get(name)
      if (!W) continue
      w.set(name, this.merged(m, W))
      W.dispose()
    }
  }

  /** PEFT's adapter_config.json for this adapter (default LoraConfig values for the fields it does not set). */
  peftConfig(baseModel: string | null): Record<string, unknown> {
    const s = this.spec
    return {
      alpha_pattern: {},
      auto_mapping: null,
      base_model_name_or_path: baseModel,
      bias: "none",
      fan_in_fan_out: false,
      inference_mode: true,
      init_lora_weights: true,
      layers_pattern: null,
      layer_replication: null,
      layers_to_transform: [...s.layers],
      loftq_config: {},
      lora_alpha: s.alpha,
      lora_bias: false,
      lora_dropout: s.dropout,
      modules_to_save: null,
      peft_type: "LORA",
      r: s.r,
      rank_pattern: {},
      revision: null,
      target_modules: [...s.targets],
      task_type: "CAUSAL_LM",
      use_dora: false,
      use_rslora: s.rslora === true
    }
  }

  /** Write adapter_config.json and adapter_model.safetensors (float32) into `dir`. */
  async save(dir: string, baseModel: string | null = null): Promise<void> {
    fs.mkdirSync(dir, { recursive: true })
    const tensors = new Map<string, TensorData>()
    for (const [m, { A, B }] of this.tensors) {
      tensors.set(`${KEY_PREFIX}${m}.lora_A.weight`, { shape: A.shape, data: A.dataSync() as Float32Array })
      tensors.set(`${KEY_PREFIX}${m}.lora_B.weight`, { shape: B.shape, data: B.dataSync() as Float32Array })
    }
    await saveSafetensors(path.join(dir, WEIGHTS_FILE), tensors)
    fs.writeFileSync(path.join(dir, CONFIG_FILE), JSON.stringify(this.peftConfig(baseModel), null, 2) + "\n")
  }

  dispose(): void {
    for (const { A, B } of this.tensors.values()) tf.dispose([A, B])
  }
}

/**
 * Inverted-dropout mask of n values (0 with probability p, else 1 / (1 - p)) from a xorshift32 stream
 * seeded by `label` (millions of values per step: a tight integer loop, about 15x faster than drawing
 * each from Rng).
 */
export function dropoutMask(n: number, p: number, label: string): Float32Array {
  let s = (new Rng(0).fork(label).int(0x7fffffff) | 1) >>> 0
  const cut = Math.floor(p * 4294967296)
  const keep = 1 / (1 - p)
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    out[i] = s < cut ? 0 : keep
  }
  return out
}

function checkSpec(spec: LoraSpec, arch: Architecture): void {
  if (!Number.isInteger(spec.r) || spec.r <= 0) throw new ModelConfigError({ field: "lora.r", reason: `must be a positive integer, got ${spec.r}` })
  if (!(spec.alpha > 0)) throw new ModelConfigError({ field: "lora.alpha", reason: `must be > 0, got ${spec.alpha}` })
  if (!(spec.dropout >= 0 && spec.dropout < 1)) throw new ModelConfigError({ field: "lora.dropout", reason: `must be in [0, 1), got ${spec.dropout}` })
  if (spec.targets.length === 0) throw new ModelConfigError({ field: "lora.targets", reason: "name at least one module" })
  for (const t of spec.targets) if (!LORA_TARGETS.includes(t)) throw new ModelConfigError({ field: "lora.targets", reason: `${t} is not one of ${LORA_TARGETS.join(", ")}` })
  const L = arch.dims.nLayers
  if (spec.layers.length === 0) throw new ModelConfigError({ field: "lora.layers", reason: "name at least one layer" })
  for (const l of spec.layers) if (!Number.isInteger(l) || l < 0 || l >= L) throw new ModelConfigError({ field: "lora.layers", reason: `${l} is not a layer of the model (0..${L - 1})` })
  const shapes = linearShapes(arch)
  for (const t of spec.targets)
    if (!shapes.has(loraModule(spec.layers[0], t))) throw new ModelConfigError({ field: "lora.targets", reason: `${t}: the ${arch.modelType} model has no ${loraModule(spec.layers[0], t)}` })
}
