import * as tf from "@tensorflow/tfjs"
import type { KernelsAddon } from "../addon.js"
import type { BlasThreads } from "../blas-threads.js"
import { addKernel, offsetOf } from "../wasm-backend.js"

/**
 * Fused softmax attention on the models' position-major layout (native/attention.h), registered on
 * wasm under new names. Forward-only building blocks for model-runners' selfAttention, whose
 * hand-written gradient keeps only q, k, v and the pattern P (autograd of the unfused ops also kept
 * the scores, the scaled and the masked scores and three transposed copies of q, k, v):
 *   CsAttention:     q [Tq, N, dh], k, v [Tk, N/G, dh], mask [Tq, M, Tk] (M divides N) -> z [Tq, N, dh], P [N, Tq, Tk]
 *   CsAttentionGrad: dz, q, k, v, P -> dq, dk, dv
 * G query products share a key/value product (grouped-query attention); `softcap` > 0 caps the scaled
 * scores at cap * tanh(s / cap) before the mask (Gemma-2; forward only).
 * Every product is small (Tq x Tk x dh) and runs on register-tiled native loops (not the BLAS); when
 * the whole call has at least PARALLEL_MACS multiply-adds, the products are split over the BLAS thread
 * budget (results do not depend on the split).
 */
export const PARALLEL_MACS = 2 ** 23
export const ATTENTION = { forward: "CsAttention", backward: "CsAttentionGrad" } as const

/** The attention kernels' names, for other backends that register the same contracts. */
export const ATTENTION_KERNEL_NAMES = ATTENTION

export function installAttention(addon: KernelsAddon, threads: BlasThreads): string[] {
  addKernel(ATTENTION.forward, ({ inputs, backend, attrs }) => {
    const { q, k, v, mask } = inputs as Record<string, tf.TensorInfo>
    const [Tq, N, dh] = q.shape
    const Tk = k.shape[0]
    const z = backend.makeOutput([Tq, N, dh], "float32")
    const P = backend.makeOutput([N, Tq, Tk], "float32")
    const o = (t: tf.TensorInfo) => offsetOf(backend, t)
    const G = N / k.shape[1]
    const split = 2 * N * Tq * Tk * dh >= PARALLEL_MACS ? threads.max : 1
    addon.attention(backend.wasm.HEAPF32, o(q), o(k), o(v), o(mask), mask.shape[1], o(z), o(P), Tq, Tk, N, dh, attrs.scale as number, G, attrs.softcap as number, split)
    return [z, P]
  })
  addKernel(ATTENTION.backward, ({ inputs, backend, attrs }) => {
    const { dz, q, k, v, P } = inputs as Record<string, tf.TensorInfo>
    const [Tq, N, dh] = q.shape
    const Tk = k.shape[0]
    const dq = backend.makeOutput(q.shape.slice(), "float32")
    const dk = backend.makeOutput(k.shape.slice(), "float32")
    const dv = backend.makeOutput(v.shape.slice(), "float32")
    const o = (t: tf.TensorInfo) => offsetOf(backend, t)
    const split = 4 * N * Tq * Tk * dh >= PARALLEL_MACS ? threads.max : 1
    addon.attentionGrad(backend.wasm.HEAPF32, o(dz), o(q), o(k), o(v), o(P), o(dq), o(dk), o(dv), Tq, Tk, N, dh, attrs.scale as number, N / k.shape[1], split)
    return [dq, dk, dv]
  })
  return Object.values(ATTENTION)
}

/** True when the fused attention kernels are registered on the active backend. */
export const fusedAttentionActive = (): boolean => tf.getKernel(ATTENTION.forward, tf.getBackend()) !== undefined

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number>) =>
  tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[]

/**
 * Whether fusedAttention takes these inputs: float32, rank 3, q [Tq, N, dh], k and v [Tk, N/G, dh] for
 * a whole G, mask [Tq, M, Tk] with M dividing N.
 * Callers fall back to unfused ops otherwise.
 */
export function fusedAttentionFits(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor): boolean {
  if (![q, k, v, mask].every((t) => t.dtype === "float32" && t.rank === 3)) return false
  const [Tq, N, dh] = q.shape
  const Tk = k.shape[0]
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i])
  const Nkv = k.shape[1] as number
  const M = mask.shape[1] as number
  if (!(Tq > 0 && Tk > 0 && N > 0 && dh > 0 && Nkv > 0 && M > 0) || N % Nkv !== 0 || N % M !== 0) return false
  return same(k.shape, [Tk, Nkv, dh]) && same(v.shape, [Tk, Nkv, dh]) && mask.shape[0] === Tq && mask.shape[2] === Tk
}

/** softmax(scale q k^T + mask) v per product: -> [z [Tq, N, dh], P [N, Tq, Tk]]. Not differentiable by itself. */
export function fusedAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor, scale: number, softcap = 0): [tf.Tensor, tf.Tensor] {
  const [z, P] = run(ATTENTION.forward, { q, k, v, mask }, { scale, softcap })
  return [z, P]
}

/** Gradients of fusedAttention with respect to q, k, v. */
export function fusedAttentionGrad(dz: tf.Tensor, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, P: tf.Tensor, scale: number): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const [dq, dk, dv] = run(ATTENTION.backward, { dz, q, k, v, P }, { scale })
  return [dq, dk, dv]
}
