import * as tf from "@tensorflow/tfjs"
import { ATTENTION_KERNEL_NAMES, FUSED_KERNEL_NAMES } from "@conceptscope/kernels"
import { attention, attentionGrad } from "./attention-kernels.js"
import { gatedAct, gatedActGrad, gelu, geluGrad, rope } from "./elementwise-kernels.js"
import { crossEntropy, crossEntropyGrad } from "./loss-kernels.js"
import { layerNorm, layerNormGrad, rmsNorm, rmsNormGrad } from "./norm-kernels.js"
import type { WebgpuBackendLike } from "./program.js"

type Run = (backend: WebgpuBackendLike, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown>) => tf.TensorInfo | tf.TensorInfo[]

/** The WGSL kernel behind each fused kernel name (@conceptscope/kernels' contracts). */
export const WGSL_KERNELS: ReadonlyArray<readonly [string, Run]> = [
  [FUSED_KERNEL_NAMES.gelu, gelu],
  [FUSED_KERNEL_NAMES.geluGrad, geluGrad],
  [FUSED_KERNEL_NAMES.layerNorm, layerNorm],
  [FUSED_KERNEL_NAMES.layerNormGrad, layerNormGrad],
  [FUSED_KERNEL_NAMES.rope, rope],
  [FUSED_KERNEL_NAMES.rmsNorm, rmsNorm],
  [FUSED_KERNEL_NAMES.rmsNormGrad, rmsNormGrad],
  [FUSED_KERNEL_NAMES.gatedAct, gatedAct],
  [FUSED_KERNEL_NAMES.gatedActGrad, gatedActGrad],
  [FUSED_KERNEL_NAMES.crossEntropy, crossEntropy],
  [FUSED_KERNEL_NAMES.crossEntropyGrad, crossEntropyGrad],
  [ATTENTION_KERNEL_NAMES.forward, attention],
  [ATTENTION_KERNEL_NAMES.backward, attentionGrad]
]

/**
 * Register the WGSL kernels on the "webgpu" backend under the fused kernels' names, so that the models'
 * `fusedKernelsActive()` / `fusedAttentionActive()` paths run them there (idempotent).
 * CONCEPTSCOPE_WGSL=0 leaves them out: the models then run tfjs's own ops (the unfused reference).
 */
export function installWebgpuKernels(): string[] {
  if (process.env.CONCEPTSCOPE_WGSL === "0") return []
  for (const [name, run] of WGSL_KERNELS) {
    if (tf.getKernel(name, "webgpu") !== undefined) continue
    tf.registerKernel({
      kernelName: name,
      backendName: "webgpu",
      kernelFunc: ({ inputs, backend, attrs }) => run(backend as unknown as WebgpuBackendLike, inputs as Record<string, tf.TensorInfo>, (attrs ?? {}) as Record<string, unknown>)
    })
  }
  return WGSL_KERNELS.map(([name]) => name)
}

/** Remove them again (tests compare the fused paths with tfjs's unfused ops on the same backend). */
export function uninstallWebgpuKernels(): void {
  for (const [name] of WGSL_KERNELS) if (tf.getKernel(name, "webgpu") !== undefined) tf.unregisterKernel(name, "webgpu")
}
