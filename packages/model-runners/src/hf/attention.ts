import * as tf from "@tensorflow/tfjs"
import { fusedAttention, fusedAttentionActive, fusedAttentionFits, fusedAttentionGrad, fusedKernelsActive, fusedRope } from "@conceptscope/kernels"
import { recordingGradients, softcap } from "./ops.js"

/**
 * Attention pieces shared by the Hugging Face decoders: rotary embeddings (with Llama-3 and linear
 * scaling), additive masks (causal, padding, sliding window) and grouped-query attention.
 * Layout: rows are position-major, row = t*B + b.
 */

export interface RopeScaling {
  readonly type: "llama3" | "linear"
  readonly factor: number
  readonly lowFreqFactor?: number
  readonly highFreqFactor?: number
  readonly originalMaxPositions?: number
}

/** Inverse frequencies [dim/2] as HF computes them (`_compute_default/llama3/linear_rope_parameters`). */
export function ropeInvFreq(dim: number, theta: number, scaling?: RopeScaling): Float64Array {
  const inv = new Float64Array(dim / 2)
  for (let i = 0; i < dim / 2; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / dim)
  if (!scaling) return inv
  if (scaling.type === "linear") return inv.map((f) => f / scaling.factor)
  const { factor } = scaling
  const low = scaling.lowFreqFactor ?? 1
  const high = scaling.highFreqFactor ?? 4
  const old = scaling.originalMaxPositions ?? 8192
  const lowWavelen = old / low
  const highWavelen = old / high
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f
    if (wavelen < highWavelen) return f
    if (wavelen > lowWavelen) return f / factor
    const smooth = (old / wavelen - low) / (high - low)
    return (1 - smooth) * (f / factor) + smooth * f
  })
}

/** cos and sin tables [rows, 1, dim] for the given per-row positions (emb = cat(freqs, freqs)). */
export function ropeTables(positions: Int32Array, invFreq: Float64Array): { cos: tf.Tensor; sin: tf.Tensor } {
  const half = invFreq.length
  const dim = 2 * half
  const cos = new Float32Array(positions.length * dim)
  const sin = new Float32Array(positions.length * dim)
  for (let r = 0; r < positions.length; r++)
    for (let i = 0; i < half; i++) {
      const a = positions[r] * invFreq[i]
      cos[r * dim + i] = cos[r * dim + half + i] = Math.cos(a)
      sin[r * dim + i] = sin[r * dim + half + i] = Math.sin(a)
    }
  return { cos: tf.tensor3d(cos, [positions.length, 1, dim]), sin: tf.tensor3d(sin, [positions.length, 1, dim]) }
}

/** The fused attention kernel with its backward kernel (q [Tq, N, hd], k, v [Tk, Nkv, hd], mask [Tq, M, Tk]; no gradient to the mask). */
function attentionWithGrad(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor, scale: number): tf.Tensor {
  const f = tf.customGrad(((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, m: tf.Tensor, save: tf.GradSaveFunc) => {
    const [z, P] = fusedAttention(qq, kk, vv, m, scale) // [Tq, N, hd], [N, Tq, Tk]
    save([qq, kk, vv, P])
    return { value: z, gradFunc: (dz: tf.Tensor, saved: tf.Tensor[]) => [...fusedAttentionGrad(dz, saved[0], saved[1], saved[2], saved[3], scale), tf.zerosLike(m)] }
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...t: tf.Tensor[]) => tf.Tensor
  return f(q, k, v, mask)
}

/**
 * The fused rope kernel with its gradient: RoPE rotates each pair (x_i, x_{i+dim/2}) by the angle whose
 * cos / sin the tables hold, so the gradient is the rotation by minus that angle, the same kernel with -sin.
 */
function ropeWithGrad(x3: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([])
    return { value: fusedRope(x, cos, sin), gradFunc: (dy: tf.Tensor) => [fusedRope(dy, cos, tf.neg(sin))] }
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor
  return f(x3)
}

/** x [rows, heads*dim] -> x cos + rotate_half(x) sin, rotate_half(x) = cat(-x2, x1) (one native kernel when active). */
export function applyRope(x: tf.Tensor, heads: number, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const rows = x.shape[0]
  const dim = cos.shape[2] as number
  const x3 = tf.reshape(x, [rows, heads, dim]) // [rows, heads, dim]
  if (fusedKernelsActive() && x.dtype === "float32") return tf.reshape(recordingGradients() ? ropeWithGrad(x3, cos, sin) : fusedRope(x3, cos, sin), [rows, heads * dim])
  const [x1, x2] = tf.split(x3, 2, 2) // [rows, heads, dim/2] each
  const rot = tf.concat([tf.neg(x2), x1], 2) // [rows, heads, dim]
  return tf.reshape(tf.add(tf.mul(x3, cos), tf.mul(rot, sin)), [rows, heads * dim])
}

/**
 * Additive mask [B, 1, Tq, Tk] (0 = attend, -1e9 = not) for Tq new queries after `past` cached
 * positions (Tk = past + Tq): key k is visible from query q (absolute index past + q) when k <= past + q,
 * the key is a real token (attention mask 1), and, with a window, past + q - k < window (HF's sliding
 * window). `pad` is [B, Tk] of 0/1 or null for no padding.
 */
export function additiveMask(B: number, Tq: number, pad: Uint8Array | null, window: number | null, past = 0): tf.Tensor {
  const Tk = past + Tq
  const m = new Float32Array(B * Tq * Tk)
  for (let b = 0; b < B; b++)
    for (let q = 0; q < Tq; q++)
      for (let k = 0; k < Tk; k++) {
        const qa = past + q
        const ok = k <= qa && (pad === null || pad[b * Tk + k] === 1) && (window === null || qa - k < window)
        if (!ok) m[(b * Tq + q) * Tk + k] = -1e9
      }
  return tf.tensor4d(m, [B, 1, Tq, Tk])
}

export interface AttnDims {
  readonly T: number
  readonly B: number
  readonly H: number
  readonly Hkv: number
  readonly hd: number
}

export interface AttnHooks {
  /** p [q_pos, B*H, k_pos] -> same (capture / interventions at attn.hook_pattern). */
  pattern?: (p: tf.Tensor) => tf.Tensor
  /** z [pos, B*H, d_head] -> same (per-head interventions at hook_attn_out). */
  heads?: (z: tf.Tensor) => tf.Tensor
}

/**
 * Grouped-query attention. q [T*B, H*hd], k, v [Tk*B, Hkv*hd] (rows t*B + b; Tk >= T with a KV cache),
 * mask [B, 1, T, Tk].
 * Query head h reads key/value head floor(h / (H / Hkv)) (HF's repeat_kv), done by grouping the
 * queries instead of copying keys. Returns z [T*B, H*hd] (heads concatenated, before o_proj).
 * With the native fused attention kernel (and no pattern hook) the rows are already its layout
 * ([T, B*H, hd] with product b*H + h reading key/value product b*Hkv + h/G): one kernel, no transposes.
 */
export function attention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, d: AttnDims, o: { scale: number; softcap?: number; mask: tf.Tensor }, hooks: AttnHooks = {}): tf.Tensor {
  const { T, B, H, Hkv, hd } = d
  const Tk = k.shape[0] / B
  const training = recordingGradients()
  // under a tape: the fused kernel with its backward (no soft-capping there)
  if (!hooks.pattern && fusedAttentionActive() && !(training && o.softcap !== undefined)) {
    const q3 = tf.reshape(q, [T, B * H, hd]) // [T, B*H, hd]
    const k3 = tf.reshape(k, [Tk, B * Hkv, hd]) // [Tk, B*Hkv, hd]
    const v3 = tf.reshape(v, [Tk, B * Hkv, hd]) // [Tk, B*Hkv, hd]
    const m3 = tf.transpose(tf.reshape(o.mask, [B, T, Tk]), [1, 0, 2]) // [T, B, Tk]
    if (fusedAttentionFits(q3, k3, v3, m3)) {
      let z: tf.Tensor // [T, B*H, hd]
      if (training) z = attentionWithGrad(q3, k3, v3, m3, o.scale)
      else {
        const [zf, p] = fusedAttention(q3, k3, v3, m3, o.scale, o.softcap ?? 0) // [T, B*H, hd], [B*H, T, Tk]
        p.dispose()
        z = zf
      }
      return tf.reshape(hooks.heads ? hooks.heads(z) : z, [T * B, H * hd])
    }
  }
  const G = H / Hkv
  const qg = tf.reshape(tf.transpose(tf.reshape(q, [T, B, Hkv, G, hd]), [1, 2, 3, 0, 4]), [B, Hkv, G * T, hd]) // [B, Hkv, G*T, hd]
  const kb = tf.transpose(tf.reshape(k, [Tk, B, Hkv, hd]), [1, 2, 0, 3]) // [B, Hkv, Tk, hd]
  const vb = tf.transpose(tf.reshape(v, [Tk, B, Hkv, hd]), [1, 2, 0, 3]) // [B, Hkv, Tk, hd]
  let s = tf.mul(tf.matMul(qg, kb, false, true), o.scale) // [B, Hkv, G*T, Tk]
  if (o.softcap !== undefined) s = softcap(s, o.softcap)
  s = tf.add(tf.reshape(s, [B, H, T, Tk]), o.mask) // [B, H, T(q), Tk]
  let p = tf.softmax(s) // [B, H, T, Tk]
  if (hooks.pattern) {
    const pq = hooks.pattern(tf.reshape(tf.transpose(p, [2, 0, 1, 3]), [T, B * H, Tk])) // [T(q), B*H, Tk]
    p = tf.transpose(tf.reshape(pq, [T, B, H, Tk]), [1, 2, 0, 3]) // [B, H, T, Tk]
  }
  const z = tf.matMul(tf.reshape(p, [B, Hkv, G * T, Tk]), vb) // [B, Hkv, G*T, hd]
  let zt = tf.reshape(tf.transpose(tf.reshape(z, [B, H, T, hd]), [2, 0, 1, 3]), [T, B * H, hd]) // [T, B*H, hd]
  if (hooks.heads) zt = hooks.heads(zt)
  return tf.reshape(zt, [T * B, H * hd])
}
