import * as tf from "@tensorflow/tfjs"
import type { KernelsAddon } from "../addon.js"
import type { BlasThreads } from "../blas-threads.js"
import { offsetOf, overrideKernel, sizeOf, stridesOf, type KernelArgs, type WasmBackend } from "../wasm-backend.js"

/** Activations of _FusedMatMul the addon applies; others (prelu) go to the stock kernel. */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5 }

interface Plan {
  readonly M: number
  readonly N: number
  readonly K: number
  readonly batch: number[]
  readonly padA: number[]
  readonly padB: number[]
}

/**
 * Shapes of a [...batchA, M, K] (or [..., K, M] when transposeA) times b [...batchB, K, N] (or
 * [..., N, K]) with broadcast batch dims; null for inputs the addon does not handle (non-float32,
 * rank < 2, incompatible shapes), which then go to the stock kernel.
 */
function plan(a: tf.TensorInfo, b: tf.TensorInfo, ta: boolean, tb: boolean): Plan | null {
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) return null
  const ra = a.shape.length
  const rb = b.shape.length
  const M = ta ? a.shape[ra - 1] : a.shape[ra - 2]
  const K = ta ? a.shape[ra - 2] : a.shape[ra - 1]
  const Kb = tb ? b.shape[rb - 1] : b.shape[rb - 2]
  const N = tb ? b.shape[rb - 2] : b.shape[rb - 1]
  if (K !== Kb) return null
  const batchA = a.shape.slice(0, -2)
  const batchB = b.shape.slice(0, -2)
  const rank = Math.max(batchA.length, batchB.length)
  const padA = [...Array(rank - batchA.length).fill(1), ...batchA] as number[]
  const padB = [...Array(rank - batchB.length).fill(1), ...batchB] as number[]
  const batch: number[] = []
  for (let d = 0; d < rank; d++) {
    if (padA[d] !== padB[d] && padA[d] !== 1 && padB[d] !== 1) return null
    batch.push(Math.max(padA[d], padB[d]))
  }
  return { M, N, K, batch, padA, padB }
}

/** Allocates out [...batch, M, N] and runs one sgemm per batch entry (starting every row from `rowBias` [N] when given). */
function run(addon: KernelsAddon, threads: BlasThreads, backend: WasmBackend, p: Plan, a: tf.TensorInfo, b: tf.TensorInfo, ta: boolean, tb: boolean, rowBias?: tf.TensorInfo): tf.TensorInfo {
  const { M, N, K, batch, padA, padB } = p
  const out = backend.makeOutput([...batch, M, N], "float32")
  const nb = sizeOf(batch)
  if (nb === 0 || M === 0 || N === 0) return out
  const rank = batch.length
  // per-batch element offsets; a broadcast axis (size 1) contributes stride 0
  const sa = stridesOf(padA).map((s, d) => (padA[d] === 1 ? 0 : s * M * K))
  const sb = stridesOf(padB).map((s, d) => (padB[d] === 1 ? 0 : s * K * N))
  const aOffs = new Float64Array(nb)
  const bOffs = new Float64Array(nb)
  const cOffs = new Float64Array(nb)
  const a0 = offsetOf(backend, a)
  const b0 = offsetOf(backend, b)
  const c0 = offsetOf(backend, out)
  const idx = new Array<number>(rank).fill(0)
  for (let i = 0; i < nb; i++) {
    let oa = a0
    let ob = b0
    for (let d = 0; d < rank; d++) {
      oa += idx[d] * sa[d]
      ob += idx[d] * sb[d]
    }
    aOffs[i] = oa
    bOffs[i] = ob
    cOffs[i] = c0 + i * M * N
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < batch[d]) break
      idx[d] = 0
    }
  }
  threads.forWork(M * N * K) // per product: batched small products stay on one thread
  addon.gemm(backend.wasm.HEAPF32, ta, tb, M, N, K, aOffs, bOffs, cOffs, rowBias ? offsetOf(backend, rowBias) : -1)
  return out
}

/** Bias strides against out's shape (right-aligned, stride 0 on broadcast axes); null if it does not broadcast. */
function biasStrides(outShape: readonly number[], bias: tf.TensorInfo): number[] | null {
  const bs = bias.shape
  if (bias.dtype !== "float32" || bs.length > outShape.length) return null
  const pad = [...Array(outShape.length - bs.length).fill(1), ...bs] as number[]
  if (pad.some((d, i) => d !== 1 && d !== outShape[i])) return null
  return stridesOf(pad).map((s, i) => (pad[i] === 1 ? 0 : s))
}

/**
 * BatchMatMul and _FusedMatMul over CBLAS sgemm: every transpose form, broadcast batch dims, bias of
 * any right-aligned broadcastable shape, and the linear/relu/relu6/leakyrelu/sigmoid/elu activations.
 * (Stock wasm _FusedMatMul in 4.22 is wrong when a transpose flag is combined with a bias.)
 */
export function installMatMul(addon: KernelsAddon, threads: BlasThreads): string[] {
  const done: string[] = []
  if (
    overrideKernel("BatchMatMul", (orig) => (args: KernelArgs) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo }
      const ta = !!args.attrs.transposeA
      const tb = !!args.attrs.transposeB
      const p = plan(a, b, ta, tb)
      return p ? run(addon, threads, args.backend, p, a, b, ta, tb) : orig(args)
    })
  )
    done.push("BatchMatMul")
  if (
    overrideKernel("_FusedMatMul", (orig) => (args: KernelArgs) => {
      const { a, b, bias } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo }
      const act = (args.attrs.activation as string | undefined) ?? "linear"
      const kind = ACTIVATIONS[act]
      if (kind === undefined) return orig(args)
      const ta = !!args.attrs.transposeA
      const tb = !!args.attrs.transposeB
      const p = plan(a, b, ta, tb)
      if (!p) return orig(args)
      const bStrides = bias ? biasStrides([...p.batch, p.M, p.N], bias) : null
      if (bias && !bStrides) return orig(args)
      // a bias along the output's last axis only ([N], [1, N], ...): C starts from it, no second pass
      const rowBias = bias && bStrides && sizeOf(bias.shape) === p.N && bias.shape[bias.shape.length - 1] === p.N
      const out = run(addon, threads, args.backend, p, a, b, ta, tb, rowBias ? bias : undefined)
      if (bias && bStrides && !rowBias) {
        // heap view after the allocation in run()
        addon.broadcastAdd(args.backend.wasm.HEAPF32, offsetOf(args.backend, out), Int32Array.from(out.shape), offsetOf(args.backend, bias), Float64Array.from(bStrides))
      }
      if (kind !== 0) addon.activation(args.backend.wasm.HEAPF32, offsetOf(args.backend, out), sizeOf(out.shape), kind, Number(args.attrs.leakyreluAlpha ?? 0.2))
      return out
    })
  )
    done.push("_FusedMatMul")
  return done
}
