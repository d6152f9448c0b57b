import type * as tf from "@tensorflow/tfjs"
import { elementwise, f, i, rows, runRows, type WebgpuBackendLike } from "./program.js"

/**
 * Fused softmax attention on the models' position-major layout, as WGSL programs, with the native
 * kernels' contract (packages/kernels/native/attention.h):
 *   CsAttention(q [Tq, N, dh], k, v [Tk, N/G, dh], mask [Tq, M, Tk]; scale, softcap) -> z [Tq, N, dh], P [N, Tq, Tk]
 *   CsAttentionGrad(dz, q, k, v, P; scale) -> dq, dk, dv
 * Product n reads key/value product n / G (grouped-query attention) and mask slice n / (N / M).
 * P: one workgroup per (n, i) row: scores, max, exp (exactly 0 below -87, as the native kernel), sum,
 * normalise, in place in the output. z, dq, dk, dv: one invocation per output element, summing over keys
 * (or over queries and the G products of a group for dk, dv).
 */

type Run = (backend: WebgpuBackendLike, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown>) => tf.TensorInfo | tf.TensorInfo[]

const DIMS = "Tq : i32, Tk : i32, N : i32, dh : i32, G : i32,"

// the (n, i) row of a [N, Tq, Tk] program: its product, query, key/value product and offset
const ROW_OF_P = `
  let n = row() / uniforms.Tq;
  let qi = row() % uniforms.Tq;
  let kv = n / uniforms.G;
  let nkv = uniforms.N / uniforms.G;
  let base = row() * uniforms.Tk;`

/** A row program with one workgroup per (n, i) row of a [N, Tq, Tk] output. */
const pRows = (key: string, inputs: string[], N: number, Tq: number, Tk: number, uniforms: string, body: string) =>
  rows({ key, inputs, outShape: [N, Tq, Tk], rows: N * Tq, width: Tk, uniforms: `${DIMS} ${uniforms}`, body: `${ROW_OF_P}\n${body}` })

function dims(q: tf.TensorInfo, k: tf.TensorInfo) {
  const [Tq, N, dh] = q.shape
  const [Tk, Nkv] = k.shape
  return { Tq, N, dh, Tk, G: N / Nkv, Nkv }
}

export const attention: Run = (backend, { q, k, v, mask }, attrs) => {
  const { Tq, N, dh, Tk, G } = dims(q, k)
  const M = mask.shape[1]
  const u = [i(Tq), i(Tk), i(N), i(dh), i(G)]
  const P = runRows(
    backend,
    pRows(
      "attn_p",
      ["q", "k", "mask"],
      N,
      Tq,
      Tk,
      "M : i32, scale : f32, cap : f32,",
      `
        let ms = n / (uniforms.N / uniforms.M);
        var m = -3.402823e+38;
        for (var j = lane(); live && j < uniforms.Tk; j += WG) {
          var s = 0.0;
          for (var d = 0; d < uniforms.dh; d++) { s += q[(qi * uniforms.N + n) * uniforms.dh + d] * k[(j * nkv + kv) * uniforms.dh + d]; }
          s = s * uniforms.scale;
          if (uniforms.cap > 0.0) { s = uniforms.cap * tanh(clamp(s / uniforms.cap, -15.0, 15.0)); }
          s = s + mask[(qi * uniforms.M + ms) * uniforms.Tk + j];
          result[base + j] = s;
          m = max(m, s);
        }
        let mx = wgMax(m);
        var sum = 0.0;
        for (var j = lane(); live && j < uniforms.Tk; j += WG) {
          let t = result[base + j] - mx;
          var e = 0.0;
          if (t >= -87.0) { e = exp(t); }
          result[base + j] = e;
          sum += e;
        }
        let total = wgSum(sum);
        for (var j = lane(); live && j < uniforms.Tk; j += WG) { result[base + j] = result[base + j] / total; }`
    ) as never,
    N * Tq,
    [q, k, mask],
    [...u, i(M), f(attrs.scale as number), f((attrs.softcap as number) ?? 0)]
  )
  const z = backend.runWebGPUProgram(
    elementwise({
      key: "attn_z",
      inputs: ["P", "v"],
      outShape: [Tq, N, dh],
      uniforms: DIMS,
      body: `
        let d = index % uniforms.dh;
        let n = (index / uniforms.dh) % uniforms.N;
        let qi = index / (uniforms.dh * uniforms.N);
        let kv = n / uniforms.G;
        let nkv = uniforms.N / uniforms.G;
        let prow = (n * uniforms.Tq + qi) * uniforms.Tk;
        var s = 0.0;
        for (var j = 0; j < uniforms.Tk; j++) { s += P[prow + j] * v[(j * nkv + kv) * uniforms.dh + d]; }
        result[index] = s;`
    }),
    [P, v],
    "float32",
    u
  )
  return [z, P]
}

export const attentionGrad: Run = (backend, { dz, q, k, v, P }, attrs) => {
  const { Tq, N, dh, Tk, G, Nkv } = dims(q, k)
  const scale = attrs.scale as number
  const u = [i(Tq), i(Tk), i(N), i(dh), i(G)]
  // dS = P (dP - rowsum(P dP)) scale with dP = dz_n v^T, one workgroup per (n, i)
  const dS = runRows(
    backend,
    pRows(
      "attn_ds",
      ["dz", "v", "P"],
      N,
      Tq,
      Tk,
      "scale : f32,",
      `
        var acc = 0.0;
        for (var j = lane(); live && j < uniforms.Tk; j += WG) {
          var s = 0.0;
          if (P[base + j] != 0.0) {
            for (var d = 0; d < uniforms.dh; d++) { s += dz[(qi * uniforms.N + n) * uniforms.dh + d] * v[(j * nkv + kv) * uniforms.dh + d]; }
          }
          result[base + j] = s;
          acc += s * P[base + j];
        }
        let rs = wgSum(acc);
        for (var j = lane(); live && j < uniforms.Tk; j += WG) { result[base + j] = P[base + j] * (result[base + j] - rs) * uniforms.scale; }`
    ) as never,
    N * Tq,
    [dz, v, P],
    [...u, f(scale)]
  )
  const QD = `
    let d = index % uniforms.dh;
    let n = (index / uniforms.dh) % uniforms.N;
    let qi = index / (uniforms.dh * uniforms.N);
    let kv = n / uniforms.G;
    let nkv = uniforms.N / uniforms.G;`
  const dq = backend.runWebGPUProgram(
    elementwise({
      key: "attn_dq",
      inputs: ["dS", "k"],
      outShape: [Tq, N, dh],
      uniforms: DIMS,
      body: `${QD}
        let srow = (n * uniforms.Tq + qi) * uniforms.Tk;
        var s = 0.0;
        for (var j = 0; j < uniforms.Tk; j++) { s += dS[srow + j] * k[(j * nkv + kv) * uniforms.dh + d]; }
        result[index] = s;`
    }),
    [dS, k],
    "float32",
    u
  )
  // dk[j, h] = sum over the group's products n and queries i of dS[n, i, j] q[i, n]; dv likewise with P and dz
  const kvGrad = (key: string, weights: tf.TensorInfo, values: tf.TensorInfo, wName: string, vName: string) =>
    backend.runWebGPUProgram(
      elementwise({
        key,
        inputs: [wName, vName],
        outShape: [Tk, Nkv, dh],
        uniforms: DIMS,
        body: `
          let nkv = uniforms.N / uniforms.G;
          let d = index % uniforms.dh;
          let h = (index / uniforms.dh) % nkv;
          let j = index / (uniforms.dh * nkv);
          var s = 0.0;
          for (var g = 0; g < uniforms.G; g++) {
            let n = h * uniforms.G + g;
            for (var qi = 0; qi < uniforms.Tq; qi++) {
              s += ${wName}[(n * uniforms.Tq + qi) * uniforms.Tk + j] * ${vName}[(qi * uniforms.N + n) * uniforms.dh + d];
            }
          }
          result[index] = s;`
      }),
      [weights, values],
      "float32",
      u
    )
  const dk = kvGrad("attn_dk", dS, q, "dS", "q")
  const dv = kvGrad("attn_dv", P, dz, "P", "dz")
  backend.disposeData(dS.dataId)
  return [dq, dk, dv]
}
