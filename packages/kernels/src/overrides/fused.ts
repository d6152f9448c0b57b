import * as tf from "@tensorflow/tfjs"
import type { KernelsAddon } from "../addon.js"
import { addKernel, offsetOf, sizeOf } from "../wasm-backend.js"

/**
 * Fused kernels tfjs does not have, registered on wasm under new names and called through
 * `tf.engine().runKernel` by the functions below. They are forward-only building blocks for the
 * hand-written gradients of model-runners' GELU and LayerNorm (one pass over memory instead of 6-10
 * elementwise kernels), and forward-only pieces of the Hugging Face decoders (rotary embedding,
 * RMSNorm, the gated MLP's act(gate) * up). Use them only when `fusedKernelsActive()` is true.
 */
export const FUSED = {
  gelu: "CsGelu",
  geluGrad: "CsGeluGrad",
  layerNorm: "CsLayerNorm",
  layerNormGrad: "CsLayerNormGrad",
  rope: "CsRope",
  rmsNorm: "CsRmsNorm",
  rmsNormGrad: "CsRmsNormGrad",
  gatedAct: "CsGatedAct",
  gatedActGrad: "CsGatedActGrad",
  crossEntropy: "CsCrossEntropy",
  crossEntropyGrad: "CsCrossEntropyGrad"
} as const

/** The fused kernels' names, for other backends that register the same contracts (the WGSL ones of @conceptscope/webgpu). */
export const FUSED_KERNEL_NAMES = FUSED

/** The gated activations fusedGatedAct computes, with the addon's kind codes. */
export const GATED_ACTS = { silu: 0, gelu_tanh: 1 } as const
export type GatedAct = keyof typeof GATED_ACTS

const f32 = (...ts: tf.TensorInfo[]): boolean => ts.every((t) => t.dtype === "float32")

export function installFused(addon: KernelsAddon): string[] {
  addKernel(FUSED.gelu, ({ inputs, backend }) => {
    const x = inputs.x as tf.TensorInfo
    const out = backend.makeOutput(x.shape.slice(), "float32")
    addon.gelu(backend.wasm.HEAPF32, offsetOf(backend, x), offsetOf(backend, out), sizeOf(x.shape))
    return out
  })
  addKernel(FUSED.geluGrad, ({ inputs, backend }) => {
    const x = inputs.x as tf.TensorInfo
    const dy = inputs.dy as tf.TensorInfo
    const out = backend.makeOutput(x.shape.slice(), "float32")
    addon.geluGrad(backend.wasm.HEAPF32, offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, out), sizeOf(x.shape))
    return out
  })
  addKernel(FUSED.layerNorm, ({ inputs, backend, attrs }) => {
    const { x, w, b } = inputs as Record<string, tf.TensorInfo>
    const d = x.shape[x.shape.length - 1]
    const rows = sizeOf(x.shape) / d
    const y = backend.makeOutput(x.shape.slice(), "float32")
    const xhat = backend.makeOutput(x.shape.slice(), "float32")
    const rstd = backend.makeOutput([...x.shape.slice(0, -1), 1], "float32")
    const o = (t: tf.TensorInfo) => offsetOf(backend, t)
    addon.layerNorm(backend.wasm.HEAPF32, o(x), o(w), o(b), o(y), o(xhat), o(rstd), rows, d, attrs.eps as number)
    return [y, xhat, rstd]
  })
  addKernel(FUSED.layerNormGrad, ({ inputs, backend }) => {
    const { dy, xhat, rstd, w } = inputs as Record<string, tf.TensorInfo>
    const d = dy.shape[dy.shape.length - 1]
    const rows = sizeOf(dy.shape) / d
    const dx = backend.makeOutput(dy.shape.slice(), "float32")
    const dw = backend.makeOutput([d], "float32")
    const db = backend.makeOutput([d], "float32")
    const o = (t: tf.TensorInfo) => offsetOf(backend, t)
    addon.layerNormGrad(backend.wasm.HEAPF32, o(dy), o(xhat), o(rstd), o(w), o(dx), o(dw), o(db), rows, d)
    return [dx, dw, db]
  })
  addKernel(FUSED.rope, ({ inputs, backend }) => {
    const { x, cos, sin } = inputs as Record<string, tf.TensorInfo>
    const [rows, heads, dim] = x.shape
    const out = backend.makeOutput(x.shape.slice(), "float32")
    const o = (t: tf.TensorInfo) => offsetOf(backend, t)
    addon.rope(backend.wasm.HEAPF32, o(x), o(cos), o(sin), o(out), rows, heads, dim)
    return out
  })
  addKernel(FUSED.rmsNorm, ({ inputs, backend, attrs }) => {
    const { x, w } = inputs as Record<string, tf.TensorInfo>
    const d = x.shape[x.shape.length - 1]
    const out = backend.makeOutput(x.shape.slice(), "float32")
    const o = (t: tf.TensorInfo) => offsetOf(backend, t)
    addon.rmsNorm(backend.wasm.HEAPF32, o(x), o(w), o(out), sizeOf(x.shape) / d, d, attrs.eps as number, attrs.onePlus === 1)
    return out
  })
  addKernel(FUSED.gatedAct, ({ inputs, backend, attrs }) => {
    const { g, u } = inputs as Record<string, tf.TensorInfo>
    const out = backend.makeOutput(g.shape.slice(), "float32")
    const o = (t: tf.TensorInfo) => offsetOf(backend, t)
    addon.gatedAct(backend.wasm.HEAPF32, o(g), o(u), o(out), sizeOf(g.shape), attrs.kind as number)
    return out
  })
  addKernel(FUSED.rmsNormGrad, ({ inputs, backend, attrs }) => {
    const { dy, x, w } = inputs as Record<string, tf.TensorInfo>
    const d = x.shape[x.shape.length - 1]
    const dx = backend.makeOutput(x.shape.slice(), "float32")
    const dw = backend.makeOutput([d], "float32")
    const o = (t: tf.TensorInfo) => offsetOf(backend, t)
    addon.rmsNormGrad(backend.wasm.HEAPF32, o(dy), o(x), o(w), o(dx), o(dw), sizeOf(x.shape) / d, d, attrs.eps as number, attrs.onePlus === 1)
    return [dx, dw]
  })
  addKernel(FUSED.gatedActGrad, ({ inputs, backend, attrs }) => {
    const { dy, g, u } = inputs as Record<string, tf.TensorInfo>
    const dg = backend.makeOutput(g.shape.slice(), "float32")
    const du = backend.makeOutput(g.shape.slice(), "float32")
    const o = (t: tf.TensorInfo) => offsetOf(backend, t)
    addon.gatedActGrad(backend.wasm.HEAPF32, o(dy), o(g), o(u), o(dg), o(du), sizeOf(g.shape), attrs.kind as number)
    return [dg, du]
  })
  addKernel(FUSED.crossEntropy, ({ inputs, backend, attrs }) => {
    const x = inputs.x as tf.TensorInfo
    const [N, V] = x.shape
    const loss = backend.makeOutput([1], "float32")
    const lse = backend.makeOutput([N], "float32")
    const total = addon.crossEntropy(backend.wasm.HEAPF32, offsetOf(backend, x), attrs.targets as Int32Array, N, V, offsetOf(backend, lse))
    backend.wasm.HEAPF32[offsetOf(backend, loss)] = total
    return [loss, lse]
  })
  addKernel(FUSED.crossEntropyGrad, ({ inputs, backend, attrs }) => {
    const { x, lse } = inputs as Record<string, tf.TensorInfo>
    const [N, V] = x.shape
    const out = backend.makeOutput([N, V], "float32")
    addon.crossEntropyGrad(backend.wasm.HEAPF32, offsetOf(backend, x), offsetOf(backend, lse), attrs.targets as Int32Array, N, V, attrs.scale as number, offsetOf(backend, out))
    return out
  })
  return Object.values(FUSED)
}

/** True when the fused kernels are registered on the active backend. */
export const fusedKernelsActive = (): boolean => tf.getKernel(FUSED.gelu, tf.getBackend()) !== undefined

const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}) =>
  tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap)

/** GPT-2 tanh GELU of float32 x (any shape). */
export function fusedGelu(x: tf.Tensor): tf.Tensor {
  if (!f32(x)) throw new Error("fusedGelu: float32 only")
  return run(FUSED.gelu, { x }) as tf.Tensor
}

/** dy * gelu'(x). */
export function fusedGeluGrad(x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  return run(FUSED.geluGrad, { x, dy }) as tf.Tensor
}

/** LayerNorm over the last axis: x [..., d], w [d], b [d] -> y, xhat [..., d], rstd [..., 1]. */
export function fusedLayerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps: number): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return run(FUSED.layerNorm, { x, w, b }, { eps }) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor]
}

/** Gradients of fusedLayerNorm: dy [..., d] -> dx [..., d], dw [d], db [d]. */
export function fusedLayerNormGrad(dy: tf.Tensor, xhat: tf.Tensor, rstd: tf.Tensor, w: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return run(FUSED.layerNormGrad, { dy, xhat, rstd, w }) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor]
}

/** HF rotary embedding: x [rows, heads, dim] float32, cos and sin [rows, 1, dim] -> x cos + rotate_half(x) sin. Forward only. */
export function fusedRope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const ok = f32(x, cos, sin) && x.rank === 3 && (x.shape[2] as number) % 2 === 0 && cos.shape.join() === `${x.shape[0]},1,${x.shape[2]}` && sin.shape.join() === cos.shape.join()
  if (!ok) throw new Error(`fusedRope: expected float32 x [rows, heads, even dim] and cos, sin [rows, 1, dim], got [${x.shape}], [${cos.shape}], [${sin.shape}]`)
  return run(FUSED.rope, { x, cos, sin }) as tf.Tensor
}

/** RMSNorm over the last axis, forward only: x [..., d], w [d] -> x / sqrt(mean(x^2) + eps) * w, or * (1 + w) with onePlus (Gemma). */
export function fusedRmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number, onePlus = false): tf.Tensor {
  const d = x.shape[x.rank - 1]
  if (!f32(x, w) || x.rank < 1 || w.shape.join() !== `${d}`) throw new Error(`fusedRmsNorm: expected float32 x [..., d] and w [d], got [${x.shape}], [${w.shape}]`)
  return run(FUSED.rmsNorm, { x, w }, { eps, onePlus: onePlus ? 1 : 0 }) as tf.Tensor
}

/** Gradients of fusedRmsNorm: dy, x [..., d], w [d] -> dx [..., d], dw [d] (the row statistics recomputed). */
export function fusedRmsNormGrad(dy: tf.Tensor, x: tf.Tensor, w: tf.Tensor, eps: number, onePlus = false): [tf.Tensor, tf.Tensor] {
  return run(FUSED.rmsNormGrad, { dy, x, w }, { eps, onePlus: onePlus ? 1 : 0 }) as unknown as [tf.Tensor, tf.Tensor]
}

/** Gradients of fusedGatedAct: dy, g, u of one shape -> dg, du. */
export function fusedGatedActGrad(dy: tf.Tensor, g: tf.Tensor, u: tf.Tensor, act: GatedAct): [tf.Tensor, tf.Tensor] {
  return run(FUSED.gatedActGrad, { dy, g, u }, { kind: GATED_ACTS[act] }) as unknown as [tf.Tensor, tf.Tensor]
}

/**
 * Summed next-token cross-entropy of logits x [N, V] against targets [N] (-1: row not scored): the sum over
 * scored rows of logsumexp(x_r) - x[r, target_r], as a [1] tensor, and every row's logsumexp [N].
 */
export function fusedCrossEntropy(x: tf.Tensor, targets: Int32Array): [tf.Tensor, tf.Tensor] {
  if (!f32(x) || x.rank !== 2 || targets.length !== x.shape[0]) throw new Error(`fusedCrossEntropy: expected float32 x [N, V] and ${x.shape[0]} targets, got [${x.shape}] and ${targets.length}`)
  const V = x.shape[1] as number
  if (targets.some((t) => t >= V)) throw new Error(`fusedCrossEntropy: a target is outside the vocabulary 0..${V - 1}`)
  return run(FUSED.crossEntropy, { x }, { targets } as never) as unknown as [tf.Tensor, tf.Tensor]
}

/** Gradient of fusedCrossEntropy's sum times `scale`: scale (softmax(x) - onehot) on scored rows, 0 elsewhere. */
export function fusedCrossEntropyGrad(x: tf.Tensor, lse: tf.Tensor, targets: Int32Array, scale: number): tf.Tensor {
  return run(FUSED.crossEntropyGrad, { x, lse }, { targets, scale } as never) as tf.Tensor
}

/** The gated MLP's act(g) * u elementwise, forward only: g, u float32 of one shape. */
export function fusedGatedAct(g: tf.Tensor, u: tf.Tensor, act: GatedAct): tf.Tensor {
  if (!f32(g, u) || g.shape.join() !== u.shape.join()) throw new Error(`fusedGatedAct: expected float32 g and u of one shape, got [${g.shape}], [${u.shape}]`)
  return run(FUSED.gatedAct, { g, u }, { kind: GATED_ACTS[act] }) as tf.Tensor
}
