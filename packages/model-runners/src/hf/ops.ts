import * as tf from "@tensorflow/tfjs"
import { fusedGatedAct, fusedGatedActGrad, fusedKernelsActive, fusedRmsNorm, fusedRmsNormGrad, nativeMatmulActive, type GatedAct } from "@conceptscope/kernels"
import { gelu } from "../layers.js"
import type { ForwardContext } from "./architecture.js"

/**
 * Small differentiable pieces shared by the Hugging Face architectures. Activations are 2D,
 * [rows, features] with rows = pos*batch (position-major, as everywhere in model-runners).
 * Weights keep the Hugging Face layout: nn.Linear weight W [out, in] (y = x W^T + b).
 * With the native kernels, RMSNorm and the gated MLP's act(gate) * up run as one forward-only kernel
 * each; while gradients are recorded (the embedded LM's pretraining) the differentiable tfjs ops run
 * instead.
 */

/** True inside tf.variableGrads / tf.grads (the engine is recording a tape). */
export const recordingGradients = (): boolean => (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn()

/**
 * Rows of the embedding matrix: E [V, d], ids [rows] int32 -> [rows, d]. tf.gather's gradient needs
 * UnsortedSegmentSum, which the wasm backend lacks, so under a tape the gradient is a scatter-add in JS
 * (dE[ids[r]] += dy[r]).
 */
export function embedRows(E: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  if (!recordingGradients()) return tf.gather(E, ids)
  const [V, d] = E.shape as [number, number]
  const lookup = tf.customGrad(((e: tf.Tensor, i: tf.Tensor, save: tf.GradSaveFunc) => {
    save([i])
    return {
      value: tf.gather(e, i),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const idx = saved[0].dataSync()
        const g = dy.dataSync()
        const out = new Float32Array(V * d)
        for (let r = 0; r < idx.length; r++) {
          const o = idx[r] * d
          for (let j = 0; j < d; j++) out[o + j] += g[r * d + j]
        }
        return [tf.tensor2d(out, [V, d]), tf.zerosLike(saved[0])]
      }
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (e: tf.Tensor, i: tf.Tensor) => tf.Tensor
  return lookup(E, ids)
}

/** x [rows, in] W [out, in] (+ b [out]) -> [rows, out]. */
export function linearT(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  if (b && b.rank === 1 && nativeMatmulActive()) return tf.fused.matMul({ a: x, b: w, transposeB: true, bias: b }) // one sgemm from the bias rows
  const y = tf.matMul(x, w, false, true)
  return b ? tf.add(y, b) : y
}

/** linearT through the linear `module` (HF name without `.weight`), plus an unmerged adapter's part when the forward has one. */
export function project(ctx: ForwardContext, x: tf.Tensor, module: string, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const y = linearT(x, w, b)
  const d = ctx.lora?.(module, x)
  return d ? tf.add(y, d) : y
}

/**
 * RMSNorm as in HF Llama: x / sqrt(mean(x^2) + eps) * w; Gemma's variant scales by (1 + w).
 * x [rows, d], w [d].
 */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number, onePlus = false): tf.Tensor {
  if (fusedKernelsActive() && x.dtype === "float32" && w.dtype === "float32") {
    if (!recordingGradients()) return fusedRmsNorm(x, w, eps, onePlus)
    // under a tape: the fused kernel with its fused gradient (saves x and w only)
    const f = tf.customGrad(((xx: tf.Tensor, ww: tf.Tensor, save: tf.GradSaveFunc) => {
      save([xx, ww])
      return { value: fusedRmsNorm(xx, ww, eps, onePlus), gradFunc: (dy: tf.Tensor, [sx, sw]: tf.Tensor[]) => fusedRmsNormGrad(dy, sx, sw, eps, onePlus) }
    }) as unknown as Parameters<typeof tf.customGrad>[0])
    return f(x, w) as tf.Tensor
  }
  const r = tf.rsqrt(tf.add(tf.mean(tf.mul(x, x), -1, true), eps)) // [rows, 1]
  return tf.mul(tf.mul(x, r), onePlus ? tf.add(w, 1) : w)
}

/** LayerNorm over the last axis, with optional affine parameters (OLMo's has none). x [rows, d]. */
export function layerNormAffine(x: tf.Tensor, eps: number, w?: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const mean = tf.mean(x, -1, true) // [rows, 1]
  const xc = tf.sub(x, mean)
  const y = tf.mul(xc, tf.rsqrt(tf.add(tf.mean(tf.mul(xc, xc), -1, true), eps))) // [rows, d]
  if (!w) return y
  return b ? tf.add(tf.mul(y, w), b) : tf.mul(y, w)
}

export const silu = (x: tf.Tensor): tf.Tensor => tf.mul(x, tf.sigmoid(x))

/** Activations by their HF config names. */
export function activation(name: string): ((x: tf.Tensor) => tf.Tensor) | null {
  switch (name) {
    case "silu":
    case "swish":
      return silu
    case "gelu_pytorch_tanh":
    case "gelu_new":
    case "gelu_fast":
      return gelu
    case "gelu":
      return (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))))
    case "relu":
      return tf.relu
    default:
      return null
  }
}

/** The gated MLP's act(g) * u (Llama's SwiGLU, Gemma's GeGLU); g, u [rows, f]. */
export function gatedAct(act: (x: tf.Tensor) => tf.Tensor, g: tf.Tensor, u: tf.Tensor): tf.Tensor {
  const kind: GatedAct | null = act === silu ? "silu" : act === gelu ? "gelu_tanh" : null
  if (kind && fusedKernelsActive() && g.dtype === "float32" && u.dtype === "float32") {
    if (!recordingGradients()) return fusedGatedAct(g, u, kind)
    // under a tape: the fused kernel with its fused gradient (saves g and u only)
    const f = tf.customGrad(((gg: tf.Tensor, uu: tf.Tensor, save: tf.GradSaveFunc) => {
      save([gg, uu])
      return { value: fusedGatedAct(gg, uu, kind), gradFunc: (dy: tf.Tensor, [sg, su]: tf.Tensor[]) => fusedGatedActGrad(dy, sg, su, kind) }
    }) as unknown as Parameters<typeof tf.customGrad>[0])
    return f(g, u) as tf.Tensor
  }
  return tf.mul(act(g), u)
}

/** Soft-capping c * tanh(x / c) (Gemma-2). */
export const softcap = (x: tf.Tensor, c: number): tf.Tensor => tf.mul(tf.tanh(tf.div(x, c)), c)
