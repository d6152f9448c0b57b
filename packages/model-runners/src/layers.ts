import * as tf from "@tensorflow/tfjs"
import { fusedGelu, fusedGeluGrad, fusedKernelsActive, fusedLayerNorm, fusedLayerNormGrad, nativeMatmulActive } from "@conceptscope/kernels"
import { stockWasmMatmul } from "./backend.js"
import { ForwardError } from "./errors.js"

/**
 * Building blocks of the GPT-2 style models, chosen for the tfjs wasm backend:
 * - activations stay 2D ([rows, features]) so every weight product is a plain 2D GEMM (fast path);
 * - GELU is the GPT-2 tanh approximation written with a sigmoid, which is the same function
 *   (0.5 x (1 + tanh u) = x sigmoid(2u)) but 12x cheaper on wasm than tanh (3 ms vs 40 ms per 1.3M
 *   values here), and x^3 as x*x*x (pow is as slow as tanh);
 * - LayerNorm and GELU have hand-written gradients that keep fewer activations alive (the study
 *   model at batch 128 otherwise needs more than the 4 GB a wasm32 heap can hold).
 */

/** GPT-2 LayerNorm epsilon. */
export const LN_EPS = 1e-5

type Grad = (...args: tf.Tensor[]) => tf.Tensor
const custom = (f: (...args: never[]) => unknown): Grad =>
  tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as Grad

/**
 * x [rows, d] -> (x - mean) / sqrt(var + eps) * w + b, statistics over the last axis (biased variance).
 * Hand-written gradient: saves only xhat [rows, d] and rstd [rows, 1] (autograd kept five [rows, d]
 * tensors and ran about twice the kernels):
 *   g = dy * w;  dx = rstd * (g - mean(g) - xhat * mean(g * xhat));  dw = sum_rows(dy * xhat);  db = sum_rows(dy)
 * With the native kernels (wasm + addon) forward and backward are one fused kernel each.
 */
const layerNormCustom = custom((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  if (fusedKernelsActive() && x.dtype === "float32") {
    const [y, xhat, rstd] = fusedLayerNorm(x, w, b, LN_EPS) // [rows, d], [rows, d], [rows, 1]
    save([xhat, rstd, w])
    return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => fusedLayerNormGrad(dy, saved[0], saved[1], saved[2]) }
  }
  const mean = tf.mean(x, -1, true) // [rows, 1]
  const xc = tf.sub(x, mean) // [rows, d]
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.mul(xc, xc), -1, true), LN_EPS)) // [rows, 1]
  const xhat = tf.mul(xc, rstd) // [rows, d]
  save([xhat, rstd, w])
  return {
    value: tf.add(tf.mul(xhat, w), b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [sx, sr, sw] = saved
        const g = tf.mul(dy, sw) // [rows, d]
        const mg = tf.mean(g, -1, true) // [rows, 1]
        const mgx = tf.mean(tf.mul(g, sx), -1, true) // [rows, 1]
        const dx = tf.mul(tf.sub(tf.sub(g, mg), tf.mul(sx, mgx)), sr) // [rows, d]
        const dw = tf.sum(tf.mul(dy, sx), 0) // [d]
        const db = tf.sum(dy, 0) // [d]
        return [dx, dw, db]
      })
  }
})

export function layerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return layerNormCustom(x, w, b)
}

const GELU_C = Math.sqrt(2 / Math.PI)
const GELU_A = 0.044715

/**
 * GPT-2 "gelu_new": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) = x * sigmoid(u), u = 2 sqrt(2/pi) (x + 0.044715 x^3).
 * Hand-written gradient that saves only x and recomputes the sigmoid:
 *   d/dx = s + x s (1 - s) du/dx,  du/dx = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)
 * With the native kernels (wasm + addon) forward and backward are one fused kernel each.
 */
const geluCustom = custom((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x])
  if (fusedKernelsActive() && x.dtype === "float32") {
    return { value: fusedGelu(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [fusedGeluGrad(saved[0], dy)] }
  }
  const x2 = tf.mul(x, x)
  const u = tf.mul(tf.mul(x, tf.add(tf.mul(x2, GELU_A), 1)), 2 * GELU_C)
  return {
    value: tf.mul(x, tf.sigmoid(u)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [sx] = saved
        const sx2 = tf.mul(sx, sx)
        const s = tf.sigmoid(tf.mul(tf.mul(sx, tf.add(tf.mul(sx2, GELU_A), 1)), 2 * GELU_C))
        const du = tf.mul(tf.add(tf.mul(sx2, 3 * GELU_A), 1), 2 * GELU_C)
        const ds = tf.add(s, tf.mul(tf.mul(sx, tf.mul(s, tf.sub(1, s))), du))
        return [tf.mul(dy, ds)]
      })
  }
})

export function gelu(x: tf.Tensor): tf.Tensor {
  return geluCustom(x)
}

/**
 * x [rows, in] @ W [in, out] + b [out] -> [rows, out], one tape node with a hand-written gradient:
 *   dx = dy @ W^T,  dW = x^T @ dy,  db = sum_rows(dy)
 * (explicit transposes on wasm, where transposed matmuls take a naive path; transpose flags elsewhere).
 * It keeps only x and W for the backward pass (autograd of matmul + add also kept x @ W).
 */
const linearCustom = custom((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w])
  return {
    // native kernels: one sgemm that starts from the bias rows (no second pass over the output)
    value: nativeMatmulActive() && b.rank === 1 ? tf.fused.matMul({ a: x, b: w, bias: b }) : tf.add(tf.matMul(x, w), b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [sx, sw] = saved
        const wasm = stockWasmMatmul()
        const dx = wasm ? tf.matMul(dy, tf.transpose(sw)) : tf.matMul(dy, sw, false, true) // [rows, in]
        const dw = wasm ? tf.matMul(tf.transpose(sx), dy) : tf.matMul(sx, dy, true, false) // [in, out]
        return [dx, dw, tf.sum(dy, 0)]
      })
  }
})

export function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (x.rank !== 2 || w.rank !== 2 || x.shape[1] !== w.shape[0]) {
    throw new ForwardError({ field: "linear", reason: `expected x [rows, in] and W [in, out], got [${x.shape}] and [${w.shape}]` })
  }
  return linearCustom(x, w, b)
}

/** Additive causal mask [T, T]: 0 where key <= query, -1e9 above the diagonal. */
export function causalMaskValues(t: number): Float32Array {
  const m = new Float32Array(t * t)
  for (let q = 0; q < t; q++) for (let k = q + 1; k < t; k++) m[q * t + k] = -1e9
  return m
}
