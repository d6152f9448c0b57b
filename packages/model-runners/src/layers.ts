import * as tf from "@tensorflow/tfjs"
import { matmul } from "./backend"

/**
 * Building blocks of the GPT-2 style models, chosen for the tfjs wasm backend:
 * - activations stay 2D ([rows, features]) so every weight product is a plain 2D GEMM (fast path);
 * - GELU is the GPT-2 tanh approximation written with a sigmoid, which is the same function
 *   (0.5 x (1 + tanh u) = x sigmoid(2u)) but 12x cheaper on wasm than tanh (3 ms vs 40 ms per 1.3M
 *   values here), and x^3 as x*x*x (pow is as slow as tanh).
 */

/** GPT-2 LayerNorm epsilon. */
export const LN_EPS = 1e-5

/** x [rows, d] -> (x - mean) / sqrt(var + eps) * w + b, statistics over the last axis (biased variance). */
export function layerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps = LN_EPS): tf.Tensor {
  const mean = tf.mean(x, -1, true) // [rows, 1]
  const xc = tf.sub(x, mean) // [rows, d]
  const variance = tf.mean(tf.mul(xc, xc), -1, true) // [rows, 1]
  const xhat = tf.mul(xc, tf.rsqrt(tf.add(variance, eps))) // [rows, d]
  return tf.add(tf.mul(xhat, w), b)
}

const GELU_C = Math.sqrt(2 / Math.PI)

/** GPT-2 "gelu_new": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) = x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)). */
export function gelu(x: tf.Tensor): tf.Tensor {
  const x3 = tf.mul(tf.mul(x, x), x)
  const u = tf.mul(tf.add(x, tf.mul(x3, 0.044715)), 2 * GELU_C)
  return tf.mul(x, tf.sigmoid(u))
}

/** x [rows, in] @ W [in, out] + b [out] -> [rows, out]. */
export function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.add(matmul(x, w), b)
}

/** Additive causal mask [T, T]: 0 where key <= query, -1e9 above the diagonal. */
export function causalMaskValues(t: number): Float32Array {
  const m = new Float32Array(t * t)
  for (let q = 0; q < t; q++) for (let k = q + 1; k < t; k++) m[q * t + k] = -1e9
  return m
}
