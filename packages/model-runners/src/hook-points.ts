import * as tf from "@tensorflow/tfjs"
import { parseHook, type HookName, type Intervention } from "@conceptscope/core"
import { ForwardError } from "./errors.js"

/**
 * Capture and intervention at named hook points during one forward pass.
 *
 * Inside the model the residual stream is kept 2D and position-major: [pos*batch, d_model], row t*B + b
 * (see regression-transformer.ts for why). Captures are reported in the documented layouts:
 * stream hooks [batch, pos, d_model], `attn.hook_pattern` [batch, head, q_pos, k_pos], `attn.hook_z`
 * [batch, pos, head, d_head] (capture only).
 *
 * Interventions (data, see @conceptscope/core) are applied in the order given, with a 0/1 mask tensor
 * built from the (batch, position) pairs they select, so no per-element JS work touches activations:
 *   replace: t*(1-m) + m*v     add: t + m*v     zero: t*(1-m)
 * (exact: m is 0 or 1, so untouched rows keep their bits and replaced rows get exactly v).
 * - stream hooks: `vector` has length d_model.
 * - attn.hook_pattern: `positions` are query positions, `vector` has length k_pos (= T); `head` restricts to one head.
 * - hook_attn_out with `head`: acts on that head's output z before W_O (`vector` has length d_head),
 *   so `{ op: "zero", head }` ablates one head; without `head` it acts on the summed attention output.
 * Capture happens after the interventions at the same hook (what the rest of the network sees) and keeps
 * only the requested positions (query positions for patterns); negative positions count from the end.
 */
export interface CaptureSpec {
  readonly hooks: ReadonlyArray<HookName | string>
  readonly positions?: ReadonlyArray<number> | "all"
}

export interface ForwardOptions {
  readonly capture?: CaptureSpec
  readonly interventions?: ReadonlyArray<Intervention>
  /**
   * The model has no dropout (Garg et al. train with dropout 0), so this changes no number. It marks a
   * gradient pass: the regression transformer then skips its non-finite output check (the trainer checks
   * its loss instead).
   */
  readonly training?: boolean
  /**
   * Return outputs that hold NaN or +-Inf instead of failing. By default a forward pass checks its output
   * (one reduction) and, when it is not finite, throws a ForwardError naming the first hook where
   * non-finite values appear (hook_embed, then each layer's hook_resid_post).
   */
  readonly allowNonFinite?: boolean
}

export interface HookDims {
  readonly batch: number
  readonly pos: number
  readonly dModel: number
  readonly nHeads: number
  readonly nLayers: number
  /** Width of one head (default dModel / nHeads; Gemma-2 differs). */
  readonly headDim?: number
}

const normPositions = (ps: ReadonlyArray<number> | "all" | undefined, t: number, field: string): number[] => {
  if (ps === undefined || ps === "all") return Array.from({ length: t }, (_, i) => i)
  return ps.map((p) => {
    const q = p < 0 ? p + t : p
    if (!Number.isInteger(p) || q < 0 || q >= t) {
      throw new ForwardError({ field, reason: `position ${p} is outside a sequence of ${t} tokens` })
    }
    return q
  })
}

export class HookRunner {
  private readonly byHook = new Map<string, Intervention[]>()
  private readonly captureSet: Set<string>
  private readonly capturePositions: number[] | null // null = all
  readonly captured: Record<string, tf.Tensor> = {}

  constructor(
    private readonly dims: HookDims,
    opts: ForwardOptions
  ) {
    const check = (name: string, field: string) => {
      const parsed = parseHook(name)
      if (!parsed) throw new ForwardError({ field, reason: `unknown hook "${name}"` })
      if (parsed.layer !== null && parsed.layer >= dims.nLayers) {
        throw new ForwardError({ field, reason: `hook "${name}": the model has ${dims.nLayers} layers` })
      }
      return parsed
    }
    ;(opts.interventions ?? []).forEach((iv, i) => {
      const field = `interventions[${i}]`
      const parsed = check(iv.hook, field)
      if (parsed.point === "attn.hook_z") throw new ForwardError({ field, reason: `${iv.hook} is capture only: intervene on a head at hook_attn_out with "head"` })
      const isPattern = parsed.point === "attn.hook_pattern"
      if (iv.head !== undefined) {
        if (!(isPattern || parsed.point === "hook_attn_out")) {
          throw new ForwardError({ field, reason: `"head" only applies to hook_attn_out and attn.hook_pattern, not ${iv.hook}` })
        }
        if (!Number.isInteger(iv.head) || iv.head < 0 || iv.head >= dims.nHeads) {
          throw new ForwardError({ field, reason: `head ${iv.head} is outside 0..${dims.nHeads - 1}` })
        }
      }
      if (iv.op !== "zero") {
        const want = isPattern ? dims.pos : iv.head !== undefined ? (dims.headDim ?? dims.dModel / dims.nHeads) : dims.dModel
        if (!iv.vector || iv.vector.length !== want) {
          throw new ForwardError({
            field,
            reason: `op "${iv.op}" at ${iv.hook} needs a vector of length ${want}, got ${iv.vector ? iv.vector.length : "none"}`
          })
        }
      }
      for (const b of iv.batch ?? []) {
        if (!Number.isInteger(b) || b < 0 || b >= dims.batch) {
          throw new ForwardError({ field, reason: `batch row ${b} is outside 0..${dims.batch - 1}` })
        }
      }
      normPositions(iv.positions, dims.pos, field)
      const key = iv.head !== undefined && !isPattern ? `${iv.hook}#heads` : iv.hook
      const list = this.byHook.get(key) ?? []
      list.push(iv)
      this.byHook.set(key, list)
    })
    const hooks = opts.capture?.hooks ?? []
    hooks.forEach((h, i) => check(h, `capture.hooks[${i}]`))
    this.captureSet = new Set(hooks)
    const ps = opts.capture?.positions
    this.capturePositions = ps === undefined || ps === "all" ? null : normPositions(ps, dims.pos, "capture.positions")
  }

  /** Whether anything (capture or intervention) happens at this hook; lets the model skip work. */
  wants(name: string): boolean {
    return this.captureSet.has(name) || this.byHook.has(name)
  }

  /** Stream hook: t [pos*batch, d_model] -> same shape, after interventions; captures if requested. */
  stream(name: string, t: tf.Tensor): tf.Tensor {
    const { batch: B, pos: T, dModel: d } = this.dims
    let out = t
    for (const iv of this.byHook.get(name) ?? []) {
      const m = tf.tensor2d(this.rowMask(iv, 1, null), [T * B, 1]) // [T*B, 1]
      out = applyOp(out, m, iv, [1, d])
    }
    if (this.captureSet.has(name)) {
      const t3 = tf.reshape(out, [T, B, d]) // [T, B, d_model]
      const sel = this.capturePositions ? tf.gather(t3, this.capturePositions, 0) : t3 // [P, B, d_model]
      this.captured[name] = tf.transpose(sel, [1, 0, 2]) // [B, P, d_model]
    }
    return out
  }

  /**
   * Per-head interventions at hook_attn_out, on z [pos, batch*head, d_head] before W_O; then the capture of
   * `attn.hook_z` of the same layer (what W_O reads) when requested.
   */
  heads(name: string, z: tf.Tensor): tf.Tensor {
    const list = this.byHook.get(`${name}#heads`)
    const zName = name.replace("hook_attn_out", "attn.hook_z")
    if (!list && !this.captureSet.has(zName)) return z
    const { batch: B, pos: T, nHeads: H, dModel: d } = this.dims
    const dh = this.dims.headDim ?? d / H
    let out = z
    for (const iv of list ?? []) {
      const m = tf.tensor3d(this.rowMask(iv, H, iv.head ?? null), [T, B * H, 1]) // [T, B*H, 1]
      out = applyOp(out, m, iv, [1, 1, dh])
    }
    if (this.captureSet.has(zName)) {
      const z4 = tf.reshape(out, [T, B, H, dh]) // [T, B, H, dh]
      const sel = this.capturePositions ? tf.gather(z4, this.capturePositions, 0) : z4 // [P, B, H, dh]
      this.captured[zName] = tf.transpose(sel, [1, 0, 2, 3]) // [B, P, H, dh]
    }
    return out
  }

  /** Pattern hook: p [q_pos, batch*head, k_pos]; positions select query positions. */
  pattern(name: string, p: tf.Tensor): tf.Tensor {
    const { batch: B, pos: T, nHeads: H } = this.dims
    let out = p
    for (const iv of this.byHook.get(name) ?? []) {
      const m = tf.tensor3d(this.rowMask(iv, H, iv.head ?? null), [T, B * H, 1]) // [T, B*H, 1]
      out = applyOp(out, m, iv, [1, 1, T])
    }
    if (this.captureSet.has(name)) {
      const p4 = tf.reshape(out, [T, B, H, T]) // [q, B, H, k]
      const sel = this.capturePositions ? tf.gather(p4, this.capturePositions, 0) : p4 // [P, B, H, k]
      this.captured[name] = tf.transpose(sel, [1, 2, 0, 3]) // [B, H, P, k]
    }
    return out
  }

  /** 0/1 selection in the internal layout [pos, batch, heads] (heads = 1 for stream hooks), row-major. */
  private rowMask(iv: Intervention, H: number, head: number | null): Float32Array {
    const { batch: B, pos: T } = this.dims
    const m = new Float32Array(T * B * H)
    const rows = iv.batch ?? Array.from({ length: B }, (_, i) => i)
    const ps = normPositions(iv.positions, T, iv.hook)
    for (const p of ps)
      for (const b of rows) {
        if (head === null) for (let h = 0; h < H; h++) m[(p * B + b) * H + h] = 1
        else m[(p * B + b) * H + head] = 1
      }
    return m
  }
}

function applyOp(t: tf.Tensor, m: tf.Tensor, iv: Intervention, vecShape: number[]): tf.Tensor {
  const keep = tf.sub(1, m)
  switch (iv.op) {
    case "zero":
      return tf.mul(t, keep)
    case "add":
      return tf.add(t, tf.mul(m, tf.tensor(iv.vector as number[], vecShape)))
    case "replace":
      return tf.add(tf.mul(t, keep), tf.mul(m, tf.tensor(iv.vector as number[], vecShape)))
  }
}
