import * as tf from "@tensorflow/tfjs"
import { loadNative } from "./addon.js"
import { BlasThreads } from "./blas-threads.js"
import { installFused } from "./overrides/fused.js"
import { installGather } from "./overrides/gather.js"
import { installAttention } from "./overrides/attention.js"
import { installLayout } from "./overrides/layout.js"
import { installMatMul } from "./overrides/matmul.js"
import { installSum } from "./overrides/sum.js"
import { installUnary } from "./overrides/unary.js"
import { installZeroCopy } from "./overrides/zero-copy.js"
import { installedKernels, restoreStockKernels } from "./wasm-backend.js"

export interface KernelReport {
  /** True when the native (addon + CBLAS) kernels are installed. */
  readonly native: boolean
  /** One line: which kernels, which BLAS, or why stock wasm is used. */
  readonly reason: string
  /** Every wasm kernel now replaced (the JS zero-copy/Sum ones included). */
  readonly kernels: readonly string[]
}

let nativeActive = false

/** True when BatchMatMul runs on CBLAS (then tfjs's own transposed-matmul gradient is fast). */
export const nativeMatmulActive = (): boolean => nativeActive && tf.getBackend() === "wasm"

/**
 * Install the kernel replacements on the wasm backend (call after tf.setBackend("wasm")).
 * `native`: false, or CONCEPTSCOPE_NATIVE=0, keeps the stock kernels apart from the addon-free JS ones
 * (zero-copy Identity/Cast, JS Sum and GatherV2). Idempotent; reinstalling after restoreStockKernels() works.
 */
export function installWasmKernels(opts: { native?: boolean } = {}): KernelReport {
  restoreStockKernels()
  nativeActive = false
  const off = opts.native === false || process.env.CONCEPTSCOPE_NATIVE === "0"
  const status = off ? null : loadNative()
  const done: string[] = [...installZeroCopy(), ...installGather()]
  if (status?.ok) {
    const threads = new BlasThreads(status.addon)
    done.push(...installMatMul(status.addon, threads), ...installLayout(status.addon), ...installSum(status.addon), ...installUnary(status.addon), ...installFused(status.addon))
    // CONCEPTSCOPE_FUSED_ATTENTION=0 keeps attention on the unfused ops (for comparisons)
    if (process.env.CONCEPTSCOPE_FUSED_ATTENTION !== "0") done.push(...installAttention(status.addon, threads))
    nativeActive = true
    return { native: true, reason: `native kernels over ${status.blas}, 1 BLAS thread for small products and ${threads.max} for large`, kernels: installedKernels() }
  }
  done.push(...installSum(null))
  const why = off ? "native kernels off (CONCEPTSCOPE_NATIVE=0)" : `stock wasm kernels: ${status && !status.ok ? status.reason : "?"}`
  return { native: false, reason: why, kernels: installedKernels() }
}

/** Back to every stock wasm kernel (for comparisons and tests). */
export function uninstallWasmKernels(): void {
  restoreStockKernels()
  nativeActive = false
}
