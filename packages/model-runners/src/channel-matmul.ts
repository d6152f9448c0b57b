import * as tf from "@tensorflow/tfjs"
import { fusedAttention, fusedAttentionActive, fusedAttentionFits, fusedAttentionGrad } from "@conceptscope/kernels"
import { stockWasmMatmul } from "./backend.js"
import { ForwardError } from "./errors.js"

/**
 * Many small independent matrix products, one per "channel" n, with the channel axis innermost:
 *
 *   channelMatmul(a [M, C, N], b [C, N, P]) -> out [M, N, P],   out[m, n, p] = sum_c a[m, c, n] * b[c, n, p]
 *
 * Attention needs N = batch*heads products of (T x d_head) by (d_head x T) matrices. On the wasm backend
 * BatchMatMul with a batch dimension takes a naive loop (about 1 GFLOP/s), while this exact contraction
 * is a depthwise convolution: image [1, M, C, N] (N channels), filter [1, C, N, P] (channel multiplier P),
 * "valid" padding -> [1, M, 1, N*P], which XNNPACK runs 2-4x faster (measured here: 256 products of
 * 20x16x20 in 0.75 ms vs 2.9 ms; 1024 of 40x32x40 in 43 ms vs 129 ms). tfjs has no depthwise-conv
 * gradients on wasm, so the gradient is written as two more such convolutions:
 *   da[m, c, n] = sum_p dout[m, n, p] b[c, n, p]  = channelMatmul(dout as [M, P, N], b as [P, N, C]) as [M, C, N]
 *   db[c, n, p] = sum_m a[m, c, n] dout[m, n, p]  = channelMatmul(a as [C, M, N], dout [M, N, P])
 * On other backends it is a plain batched matMul with transposes and tfjs's own gradient.
 */
function convForward(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const [M, C, N] = a.shape as number[]
  const P = b.shape[2] as number
  const out = tf.depthwiseConv2d(tf.reshape(a, [1, M, C, N]) as tf.Tensor4D, tf.reshape(b, [1, C, N, P]) as tf.Tensor4D, 1, "valid") // [1, M, 1, N*P]
  return tf.reshape(out, [M, N, P])
}

const channelMatmulConv = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b])
  return {
    value: convForward(a, b), // [M, N, P]
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [sa, sb] = saved
        const da = tf.transpose(convForward(tf.transpose(dy, [0, 2, 1]), tf.transpose(sb, [2, 1, 0])), [0, 2, 1]) // [M, C, N]
        const db = convForward(tf.transpose(sa, [1, 0, 2]), dy) // [C, N, P]
        return [da, db]
      })
  }
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor

function channelMatmulBatched(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const out = tf.matMul(tf.transpose(a, [2, 0, 1]), tf.transpose(b, [1, 0, 2])) // [N, M, P]
  return tf.transpose(out, [1, 0, 2]) // [M, N, P]
}

export function channelMatmul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.rank !== 3 || b.rank !== 3 || a.shape[1] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new ForwardError({ field: "channelMatmul", reason: `expected a [M, C, N] and b [C, N, P], got [${a.shape}] and [${b.shape}]` })
  }
  return stockWasmMatmul() ? channelMatmulConv(a, b) : channelMatmulBatched(a, b)
}

/**
 * Causal self-attention core over N = B*H independent heads, in the models' position-major layout:
 *   q, k, v [T, N, dh], mask [T, 1, T] (additive) -> z [T, N, dh],  z_i = sum_j softmax_j(scale q_i.k_j + mask_ij) v_j
 * `onPattern` sees the probabilities as [T(i), N, T(j)] and may return replacements (hook_pattern).
 * With the stock wasm kernels the two products run as channelMatmul (depthwise convolutions); with the
 * native kernels as batched GEMMs in a heads-first layout [N, T, *], which needs 4 transposes per call
 * instead of 9 (transposed GEMMs are fast there). With the fused native attention kernel (no pattern hook)
 * it is one kernel each way with no transposes, and the backward pass keeps only q, k, v and the
 * pattern [N, T, T] (the unfused ops kept three more [N, T, T] tensors and transposed q, k, v).
 */
export function selfAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor, scale: number, onPattern?: (p: tf.Tensor) => tf.Tensor): tf.Tensor {
  const T = q.shape[0]
  if (!onPattern && fusedAttentionActive() && fusedAttentionFits(q, k, v, mask)) return fusedSelfAttention(q, k, v, mask, scale)
  if (stockWasmMatmul()) {
    const s = channelMatmul(tf.transpose(q, [0, 2, 1]), tf.transpose(k, [2, 1, 0])) // [T(i), N, T(j)] = q . k
    let p = tf.softmax(tf.add(tf.mul(s, scale), mask)) // [T(i), N, T(j)]
    if (onPattern) p = onPattern(p)
    return channelMatmul(tf.transpose(p, [0, 2, 1]), v) // [T(i), N, dh]
  }
  const heads = (x: tf.Tensor) => tf.transpose(x, [1, 0, 2]) // [T, N, *] <-> [N, T, *]
  const s = tf.matMul(heads(q), heads(k), false, true) // [N, T(i), T(j)]
  let p = tf.softmax(tf.add(tf.mul(s, scale), tf.reshape(mask, [1, T, T]))) // [N, T(i), T(j)]
  if (onPattern) p = heads(onPattern(heads(p)))
  return heads(tf.matMul(p, heads(v))) // [N, T(i), dh] -> [T, N, dh]
}

/** q, k, v [T, N, dh] (k, v may have another length Tk), mask [Tq, 1 or N, Tk] -> z [Tq, N, dh]; the mask gets no gradient (zeros). */
const fusedSelfAttention = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor, scale: number): tf.Tensor =>
  (tf.customGrad(((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor, save: tf.GradSaveFunc) => {
    const [z, P] = fusedAttention(q, k, v, mask, scale) // [Tq, N, dh], [N, Tq, Tk]
    save([q, k, v, P])
    return {
      value: z,
      gradFunc: (dz: tf.Tensor, saved: tf.Tensor[]) => [...fusedAttentionGrad(dz, saved[0], saved[1], saved[2], saved[3], scale), tf.zerosLike(mask)]
    }
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...t: tf.Tensor[]) => tf.Tensor)(q, k, v, mask)
