import * as fs from "node:fs"
import { createRequire } from "node:module"
// @ts-expect-error: plain .mjs build script (shared with the npm postinstall), no types
import { addonPath, buildAddon } from "../build.mjs"

/** The functions of native/kernels.cc (see the header comment there for the exact semantics). */
export interface KernelsAddon {
  init(paths: readonly string[]): string | null
  setThreads(n: number): void
  /** C_i [M, N] = op(A_i) op(B_i) (+ a bias [N] on every row at element biasOff, when given and >= 0); offsets in float32 elements of `heap`. */
  gemm(heap: Float32Array, transA: boolean, transB: boolean, M: number, N: number, K: number, aOffs: Float64Array, bOffs: Float64Array, cOffs: Float64Array, biasOff?: number): void
  stridedCopy(heap: Float32Array, srcOff: number, dstOff: number, shape: Int32Array, srcStrides: Float64Array): void
  broadcastAdd(heap: Float32Array, outOff: number, shape: Int32Array, bOff: number, bStrides: Float64Array): void
  activation(heap: Float32Array, off: number, n: number, kind: number, alpha: number): void
  sumMiddle(heap: Float32Array, xOff: number, outOff: number, outer: number, rows: number, cols: number): void
  unary(heap: Float32Array, xOff: number, outOff: number, n: number, kind: number): void
  gelu(heap: Float32Array, xOff: number, outOff: number, n: number): void
  geluGrad(heap: Float32Array, xOff: number, dyOff: number, outOff: number, n: number): void
  layerNorm(heap: Float32Array, xOff: number, wOff: number, bOff: number, yOff: number, xhatOff: number, rstdOff: number, rows: number, d: number, eps: number): void
  layerNormGrad(heap: Float32Array, dyOff: number, xhatOff: number, rstdOff: number, wOff: number, dxOff: number, dwOff: number, dbOff: number, rows: number, d: number): void
  rope(heap: Float32Array, xOff: number, cosOff: number, sinOff: number, outOff: number, rows: number, heads: number, dim: number): void
  rmsNorm(heap: Float32Array, xOff: number, wOff: number, yOff: number, rows: number, d: number, eps: number, onePlus: boolean): void
  /** dx, dw of rmsNorm given dy (rstd recomputed per row). */
  rmsNormGrad(heap: Float32Array, dyOff: number, xOff: number, wOff: number, dxOff: number, dwOff: number, rows: number, d: number, eps: number, onePlus: boolean): void
  /** dg, du of gatedAct given dy. */
  gatedActGrad(heap: Float32Array, dyOff: number, gOff: number, uOff: number, dgOff: number, duOff: number, n: number, kind: number): void
  /** Sum over rows with a target (>= 0) of lse - x[target]; writes every row's log-sum-exp to lse (native/loss.h). */
  crossEntropy(heap: Float32Array, xOff: number, targets: Int32Array, N: number, V: number, lseOff: number): number
  /** scale (softmax - onehot) on rows with a target, 0 on the others. */
  crossEntropyGrad(heap: Float32Array, xOff: number, lseOff: number, targets: Int32Array, N: number, V: number, scale: number, outOff: number): void
  /** Adam's update of p, m, v in place (native/optim.h), float64 per element as the JS Adam. */
  adamStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, coefficients: Float64Array): void
  /** out = act(g) * u; kind 0 SiLU, 1 tanh GELU. */
  gatedAct(heap: Float32Array, gOff: number, uOff: number, outOff: number, n: number, kind: number): void
  /** q [Tq, N, dh], k/v [Tk, N/G, dh], mask [Tq, M, Tk] (M divides N) -> z [Tq, N, dh], P [N, Tq, Tk] (native/attention.h). */
  attention(heap: Float32Array, qOff: number, kOff: number, vOff: number, maskOff: number, maskSlices: number, zOff: number, pOff: number, Tq: number, Tk: number, N: number, dh: number, scale: number, groups: number, softcap: number, threads: number): void
  /** Start reading tensors into the heap on a thread (native/reader.h): jobs are [fd, position, heap offset, numel, dtype code] each. */
  readStart(heap: Float32Array, jobs: Float64Array): number
  /** Join a read: 0 done, 1 a read failed, 2 the heap moved meanwhile. */
  readWait(id: number, heap: Float32Array): number
  attentionGrad(heap: Float32Array, dzOff: number, qOff: number, kOff: number, vOff: number, pOff: number, dqOff: number, dkOff: number, dvOff: number, Tq: number, Tk: number, N: number, dh: number, scale: number, groups: number, threads: number): void
}

export type NativeStatus =
  | { readonly ok: true; readonly addon: KernelsAddon; readonly blas: string }
  | { readonly ok: false; readonly reason: string }

/** Where CBLAS is looked for, in order; CONCEPTSCOPE_BLAS (a path) goes first. */
export const BLAS_CANDIDATES = [
  "libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "libopenblas.so",
  "libcblas.so.3",
  "libblas.so.3"
]

let cached: NativeStatus | undefined

/**
 * Load (building first when needed) the addon and a CBLAS. Never throws: the reason it cannot is
 * returned instead, in one line. Cached for the process.
 */
export function loadNative(): NativeStatus {
  if (cached) return cached
  cached = (() => {
    let file: string
    try {
      file = fs.existsSync(addonPath()) ? addonPath() : buildAddon()
    } catch (e) {
      return { ok: false, reason: `addon not built: ${e instanceof Error ? e.message : String(e)}` }
    }
    let addon: KernelsAddon
    try {
      addon = createRequire(import.meta.url)(file) as KernelsAddon
    } catch (e) {
      return { ok: false, reason: `addon failed to load: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}` }
    }
    // OpenBLAS workers spin for 2^28 cycles (~0.1 s) after each threaded call before they sleep, which
    // takes the second core from the kernels that run between the large products (fused attention
    // splits over std::threads). 2^4 cycles: they sleep at once (measured on 2 cores: Llama-100M forward
    // 4.5% faster, GPT training step 8%; attention alone 61 -> 33 ms per forward). Read when the library
    // loads, so it is set before dlopen; a value the user set is kept.
    process.env.OPENBLAS_THREAD_TIMEOUT ??= "4"
    const env = process.env.CONCEPTSCOPE_BLAS
    const blas = addon.init(env ? [env, ...BLAS_CANDIDATES] : BLAS_CANDIDATES)
    if (blas === null) return { ok: false, reason: "no CBLAS library found (apt-get install libopenblas0-pthread)" }
    return { ok: true, addon, blas }
  })()
  return cached
}
