import * as tf from "@tensorflow/tfjs"
import * as os from "node:os"
import { onWebgpu } from "../backend.js"
import { ForwardError, ModelConfigError } from "../errors.js"
import { allFinite, describeStreamHook } from "../finite.js"
import { HookRunner, type ForwardOptions } from "../hook-points.js"
import type { Architecture, ForwardContext, KvCache, WeightSpec } from "./architecture.js"
import { HfCheckpoint } from "./checkpoint.js"
import { checkInventory } from "./inventory.js"
import { architectureFor } from "./load-architecture.js"
import { LoraAdapter } from "./lora.js"
import { filledTensor, type StagePrefetch, stagePrefetch } from "./stage-prefetch.js"

/**
 * A pretrained causal LM from a local Hugging Face directory, with the same capture / intervention API
 * as the regression transformer (hook names as TransformerLens; see hook-points.ts).
 *
 * Execution modes:
 * - "memory": every weight is loaded once as a float32 tensor;
 * - "streamed": for each forward, each stage's weights (embedding, block l, final) are read from disk,
 *   applied to the whole batch's residual stream, and freed, so peak memory is about three layers (the
 *   one computing and the next one, read on a reader thread meanwhile: stage-prefetch.ts) plus the
 *   streams. Same code path, same numbers.
 * - "auto" (default): memory when the float32 weights fit in `memoryBudgetBytes`, else streamed. Default
 *   budget: on webgpu `CONCEPTSCOPE_GPU_MEMORY_GB` (WebGPU cannot tell a device's memory; default 12),
 *   elsewhere half the free RAM, at most 3 GB (the wasm32 heap holds 4 GB). In memory mode on webgpu
 *   the weights are uploaded once.
 *
 * Batches: `ids` [B][T] with an optional 0/1 `attentionMask` [B][T] (left or right padding). Position
 * ids are cumsum(mask) - 1, so a padded prompt gets the positions it has alone, and padded keys are
 * masked: results at real tokens equal running each prompt alone.
 */
export type ExecutionMode = "auto" | "memory" | "streamed"

/** The in-memory budget of "auto" mode (see above). */
function defaultBudget(): number {
  if (!onWebgpu()) return Math.min(os.freemem() / 2, 3 * 2 ** 30)
  const gb = Number(process.env.CONCEPTSCOPE_GPU_MEMORY_GB ?? "12")
  if (!(gb > 0)) throw new ForwardError({ field: "CONCEPTSCOPE_GPU_MEMORY_GB", reason: `${process.env.CONCEPTSCOPE_GPU_MEMORY_GB} is not a positive number of GB` })
  return gb * 2 ** 30
}

export interface LoadOptions {
  readonly mode?: ExecutionMode
  readonly memoryBudgetBytes?: number
  /**
   * A PEFT LoRA adapter directory (lora.ts) applied to the model: unmerged (default: each adapted linear
   * adds scale * (x A^T) B^T) or merged (`merge: true`: W + scale * B A, once in memory mode, per pass as
   * each layer is read in streamed mode).
   */
  readonly adapter?: { readonly dir: string; readonly merge?: boolean }
}

export interface LmBatch {
  readonly ids: ReadonlyArray<ReadonlyArray<number>>
  readonly attentionMask?: ReadonlyArray<ReadonlyArray<number>>
}

export interface LmForwardOptions extends ForwardOptions {
  /** "all" (default): logits [B, T, V]; "none": skip the unembedding; number[]: only these positions [B, P, V]. */
  readonly logits?: "all" | "none" | ReadonlyArray<number>
}

/** A batch laid out for one pass: ids and position ids position-major [T*B]; pad [B, past+T] or null. */
export interface StepInput {
  readonly B: number
  readonly T: number
  readonly ids: Int32Array
  readonly positions: Int32Array
  readonly pad: Uint8Array | null
}

export interface LmForwardResult {
  readonly logits: tf.Tensor | null
  readonly captured: Record<string, tf.Tensor>
}

/**
 * A checkpoint tensor as a float32 tensor. On wasm the bytes are read straight into the tensor's heap
 * memory (no JS-side copy of the weights: peak memory of loading stays near the weights themselves);
 * elsewhere through a Float32Array.
 */
function weightTensor(ckpt: HfCheckpoint, w: WeightSpec): tf.Tensor {
  return filledTensor([...w.shape], (out) => ckpt.readInto(w.name, w.shape, out))
}

/** A batch's token ids renumbered into its distinct ids (sorted): gather(E[distinct], local) = gather(E, ids). */
function distinctIds(ids: Int32Array): { distinct: Int32Array; local: Int32Array } {
  const distinct = Int32Array.from(new Set(ids)).sort()
  const at = new Map<number, number>()
  distinct.forEach((id, i) => at.set(id, i))
  return { distinct, local: ids.map((id) => at.get(id)!) }
}

export class CausalLM {
  private constructor(
    readonly dir: string,
    readonly arch: Architecture,
    readonly mode: "memory" | "streamed",
    private readonly ckpt: HfCheckpoint,
    private readonly resident: Map<string, tf.Tensor> | null,
    private readonly prefetch: StagePrefetch | null,
    /** the adapter applied, and whether its weights are merged into the model's */
    readonly lora: { readonly adapter: LoraAdapter; readonly merged: boolean } | null = null
  ) {}

  static load(dir: string, opts: LoadOptions = {}): CausalLM {
    const ckpt = HfCheckpoint.open(dir)
    try {
      const arch = architectureFor(dir, ckpt.config, ckpt.names())
      const budget = opts.memoryBudgetBytes ?? defaultBudget()
      const mode = opts.mode === undefined || opts.mode === "auto" ? (ckpt.float32Bytes() <= budget ? "memory" : "streamed") : opts.mode
      const all = [...arch.embedWeights(), ...Array.from({ length: arch.dims.nLayers }, (_, l) => arch.layerWeights(l)).flat(), ...arch.finalWeights()]
      checkInventory(ckpt, arch, all) // layer count and unused tensors
      // every expected tensor must exist with the right shape (read lazily in streamed mode, so check headers now)
      for (const w of all) {
        const shape = ckpt.has(w.name) ? ckpt.shape(w.name) : null
        if (shape === null || shape.length !== w.shape.length || shape.some((d, i) => d !== w.shape[i])) ckpt.read(w.name, w.shape) // throws the one-line error
      }
      if (opts.adapter && arch.modelType === "gpt2") throw new ModelConfigError({ field: "adapter", reason: "LoRA adapters are implemented for the Llama-family and Gemma-2 decoders, not GPT-2" })
      const adapter = opts.adapter ? LoraAdapter.load(opts.adapter.dir, arch) : null
      const resident = mode === "memory" ? new Map<string, tf.Tensor>() : null
      try {
        if (resident) for (const w of all) if (!resident.has(w.name)) resident.set(w.name, weightTensor(ckpt, w))
        if (resident && adapter && opts.adapter?.merge) adapter.mergeInto(resident)
      } catch (e) {
        adapter?.dispose()
        if (resident) tf.dispose([...resident.values()])
        throw e
      }
      const lora = adapter ? { adapter, merged: opts.adapter?.merge === true } : null
      return new CausalLM(dir, arch, mode, ckpt, resident, mode === "streamed" ? stagePrefetch() : null, lora)
    } catch (e) {
      ckpt.close()
      throw e
    }
  }

  /** Streamed mode: stages whose weights came from the reader thread (hits) or were read on demand. */
  prefetchStats(): { readonly kind: "native" | "worker"; readonly hits: number; readonly misses: number } | null {
    return this.prefetch ? { kind: this.prefetch.kind, ...this.prefetch.stats } : null
  }

  /** End-of-sequence ids: generation_config.json's eos_token_id (number or list), else config.json's. */
  eosTokenIds(): number[] {
    const v = this.ckpt.generationConfig.eos_token_id ?? this.ckpt.config.eos_token_id
    const ids = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]
    return ids.filter((x): x is number => Number.isInteger(x))
  }

  get config(): Readonly<Record<string, unknown>> {
    return this.ckpt.config
  }

  /** Stage i's weights: 0 the embedding, 1..nLayers the blocks, nLayers + 1 the final norm and unembedding. */
  private stageWeights(i: number): WeightSpec[] {
    const L = this.arch.dims.nLayers
    return i === 0 ? this.arch.embedWeights() : i <= L ? this.arch.layerWeights(i - 1) : this.arch.finalWeights()
  }

  /**
   * Run `fn` with stage i's weights. In streamed mode they come from the reader thread when it has them
   * (else they are read now), the next stage's read starts (the blocks in order, the final stage followed
   * by block 0 of the next pass: the embedding is read per batch), and they are freed after.
   */
  private withWeights<T extends tf.TensorContainer>(i: number, fn: (w: Map<string, tf.Tensor>) => T, tokenRows?: Int32Array): T {
    if (this.resident) return tf.tidy(() => fn(this.resident as Map<string, tf.Tensor>))
    const specs = this.stageWeights(i)
    const pre = i === 0 ? null : (this.prefetch?.take(String(i)) ?? null)
    // the embedding stage depends on the batch's tokens, so the reader skips it: final -> block 0
    const next = i + 1 > this.arch.dims.nLayers + 1 ? 1 : i + 1
    this.prefetch?.request(String(next), this.stageWeights(next).map((s) => this.ckpt.range(s.name, s.shape)))
    const w = new Map<string, tf.Tensor>()
    pre?.forEach((t, j) => w.set(specs[j].name, t))
    try {
      for (const s of specs) {
        if (w.has(s.name)) continue
        const rows = tokenRows && s.name === this.arch.tokenEmbedding ? tokenRows : null
        w.set(s.name, rows ? filledTensor([rows.length, s.shape[1]], (out) => this.ckpt.readRowsInto(s.name, s.shape, rows, out)) : weightTensor(this.ckpt, s))
      }
      if (this.lora?.merged) this.lora.adapter.mergeInto(w)
      return tf.tidy(() => fn(w))
    } finally {
      tf.dispose([...w.values()])
    }
  }

  /** Validate a batch and lay it out position-major (row t*B + b), with position ids from the mask. */
  layout(batch: LmBatch): StepInput {
    const B = batch.ids.length
    const T = B > 0 ? batch.ids[0].length : 0
    if (B === 0 || T === 0) throw new ForwardError({ field: "ids", reason: "empty batch" })
    if (batch.attentionMask && batch.attentionMask.length !== B) throw new ForwardError({ field: "attentionMask", reason: `${batch.attentionMask.length} rows for ${B} sequences` })
    const { vocab } = this.arch.dims
    const ids = new Int32Array(T * B)
    const positions = new Int32Array(T * B)
    const pad = batch.attentionMask ? new Uint8Array(B * T) : null
    for (let b = 0; b < B; b++) {
      const row = batch.ids[b]
      if (row.length !== T) throw new ForwardError({ field: `ids[${b}]`, reason: `length ${row.length}, expected ${T} (pad the batch and pass attentionMask)` })
      let seen = 0
      for (let t = 0; t < T; t++) {
        const id = row[t]
        if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new ForwardError({ field: `ids[${b}][${t}]`, reason: `token id ${id} is outside the vocabulary 0..${vocab - 1}` })
        ids[t * B + b] = id
        const m = batch.attentionMask ? (batch.attentionMask[b][t] ? 1 : 0) : 1
        if (pad) pad[b * T + t] = m
        positions[t * B + b] = Math.max(0, seen + m - 1)
        seen += m
      }
    }
    return { B, T, ids, positions, pad }
  }

  forward(batch: LmBatch, opts: LmForwardOptions = {}): LmForwardResult {
    return this.step(this.layout(batch), opts, null)
  }

  /**
   * One pass over T new positions per row (all of them, or the next ones after a KV cache's `past`).
   * `input.pad`, when given, covers past + T positions. Used by forward() and by decoding.ts.
   * The output (the logits, or the final stream when logits are "none") is checked for NaN / +-Inf with one
   * reduction; unless `opts.allowNonFinite`, a non-finite output is a ForwardError naming the first hook
   * where non-finite values appear (found by a second pass that stops there).
   */
  step(input: StepInput, opts: LmForwardOptions, kv: KvCache | null): LmForwardResult {
    const pastBefore = kv?.past ?? 0
    const { logits, captured, out } = this.run(input, opts, kv, null)
    if (opts.allowNonFinite || allFinite(out ?? (logits as tf.Tensor))) {
      out?.dispose()
      return { logits, captured }
    }
    tf.dispose([out, logits, ...Object.values(captured)].filter((t): t is tf.Tensor => t !== null))
    const at = this.firstNonFinite(input, opts, kv, pastBefore)
    const where = at === null ? "the logits (ln_final or the unembedding; hook_embed and every hook_resid_post are finite)" : describeStreamHook(at)
    throw new ForwardError({ field: "", reason: `non-finite values first appear at ${where} of ${this.dir} (allowNonFinite: true returns them)` })
  }

  /**
   * The failure path of step(): the same pass again (same interventions; with a KV cache, from the cache as
   * it was before the failed pass), checking hook_embed and each hook_resid_post and stopping at the first
   * one that is not finite; null when they all are (then the final norm or the head is to blame).
   */
  private firstNonFinite(input: StepInput, opts: LmForwardOptions, kv: KvCache | null, pastBefore: number): string | null {
    const rows = pastBefore * input.B
    const cut = (t: tf.Tensor | null) => (t === null || rows === 0 ? null : tf.slice(t, [0, 0], [rows, -1]))
    const replay: KvCache | null = kv ? { past: pastBefore, k: kv.k.map(cut), v: kv.v.map(cut) } : null
    let at: string | null = null
    try {
      const r = this.run(input, { interventions: opts.interventions, logits: "none" }, replay, (hook, h) => {
        if (allFinite(h)) return false
        at = hook
        return true
      })
      tf.dispose([r.out, r.logits, ...Object.values(r.captured)].filter((t): t is tf.Tensor => t !== null))
    } finally {
      if (replay) tf.dispose([...replay.k, ...replay.v].filter((t): t is tf.Tensor => t !== null))
    }
    return at
  }

  /**
   * The pass itself. `watch`, when given, sees the stream after hook_embed and after each block's
   * hook_resid_post and may stop the pass (returns true). `out` is the final stream when no logits were
   * computed (the caller checks and disposes it), else null.
   */
  private run(
    input: StepInput,
    opts: LmForwardOptions,
    kv: KvCache | null,
    watch: ((hook: string, h: tf.Tensor) => boolean) | null
  ): LmForwardResult & { readonly out: tf.Tensor | null } {
    const { B, T, ids, positions, pad } = input
    const { dims } = this.arch
    const hooks = new HookRunner({ batch: B, pos: T, dModel: dims.dModel, nHeads: dims.nHeads, nLayers: dims.nLayers, headDim: dims.headDim }, opts)
    const unmerged = this.lora && !this.lora.merged ? this.lora.adapter : null
    const ctx: ForwardContext = { T, B, positions, pad, hooks, shared: new Map(), kv, lora: unmerged ? (m, x) => unmerged.delta(m, x) : null }
    const captured: Record<string, tf.Tensor> = {}
    // each stage returns the new stream plus what it captured, so tidy keeps exactly those
    const stage = (i: number, f: (w: Map<string, tf.Tensor>) => tf.Tensor, tokenRows?: Int32Array): tf.Tensor => {
      const before = new Set(Object.keys(hooks.captured))
      const { out, caps } = this.withWeights(i, (w) => {
        const out = f(w)
        const caps: Record<string, tf.Tensor> = {}
        for (const [k, v] of Object.entries(hooks.captured)) if (!before.has(k)) caps[k] = v
        return { out, caps }
      }, tokenRows)
      Object.assign(captured, caps)
      return out
    }
    try {
      // streamed: only the embedding rows of the batch's tokens are read, and the ids renumbered into them
      const rows = this.resident ? null : distinctIds(ids)
      let h = stage(0, (w) => this.arch.embed(w, tf.tensor1d(rows?.local ?? ids, "int32"), ctx), rows?.distinct) // [T*B, d]
      if (watch?.("hook_embed", h)) return { logits: null, captured, out: h }
      for (let l = 0; l < dims.nLayers; l++) {
        const prev = h
        h = stage(l + 1, (w) => this.arch.block(l, w, prev, ctx))
        prev.dispose()
        if (watch?.(`blocks.${l}.hook_resid_post`, h)) return { logits: null, captured, out: h }
      }
      if (kv) kv.past += T
      const want = opts.logits ?? "all"
      let logits: tf.Tensor | null = null
      if (want !== "none" || hooks.wants("ln_final")) {
        const sel = want === "all" || want === "none" ? null : want.map((p) => (p < 0 ? T + p : p))
        if (sel && hooks.wants("ln_final")) throw new ForwardError({ field: "logits", reason: "capture of ln_final needs logits: \"all\"" })
        const fin = h
        logits = stage(dims.nLayers + 1, (w) => {
          const x = sel ? tf.reshape(tf.gather(tf.reshape(fin, [T, B, dims.dModel]), sel, 0), [sel.length * B, dims.dModel]) : fin // [P*B, d]
          const P = sel ? sel.length : T
          if (B > 1 && !hooks.wants("ln_final")) {
            // final() is row-wise: reorder its input to batch-major [B*P, d] (P*B*d floats) instead of its
            // logits (P*B*V floats: 65 MB for a 4 x 128-token Llama-3 batch)
            const xb = tf.reshape(tf.transpose(tf.reshape(x, [P, B, dims.dModel]), [1, 0, 2]), [B * P, dims.dModel]) // [B*P, d]
            return tf.reshape(this.arch.final(w, xb, ctx), [B, P, dims.vocab]) // [B, P, V]
          }
          const lg = this.arch.final(w, x, ctx) // [P*B, V]; the ln_final hook sees position-major rows
          return tf.transpose(tf.reshape(lg, [P, B, dims.vocab]), [1, 0, 2]) // [B, P, V]
        })
        if (want === "none") {
          logits.dispose()
          logits = null
        }
      }
      if (logits) {
        h.dispose()
        return { logits, captured, out: null }
      }
      return { logits, captured, out: h }
    } finally {
      tf.dispose([...ctx.shared.values()])
    }
  }

  dispose(): void {
    if (this.resident) tf.dispose([...this.resident.values()])
    this.lora?.adapter.dispose()
    this.prefetch?.close()
    this.ckpt.close()
  }
}
