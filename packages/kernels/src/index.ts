export { loadNative, type KernelsAddon, type NativeStatus } from "./addon.js"
export { installWasmKernels, nativeMatmulActive, uninstallWasmKernels, type KernelReport } from "./install.js"
export { profileKernels, type KernelTime } from "./profile.js"
export { nativeAdamStep } from "./optim.js"
export { heapReaderActive, type HeapReadJob, type PendingHeapRead, startHeapRead } from "./heap-reader.js"
// The fused ops below exist for @conceptscope/model-runners' layers and HF decoders (hand-written
// gradients over the Cs* kernels); they are exported because that package needs them.
export {
  fusedCrossEntropy,
  fusedCrossEntropyGrad,
  fusedGatedAct,
  fusedGatedActGrad,
  fusedGelu,
  fusedGeluGrad,
  fusedKernelsActive,
  fusedLayerNorm,
  fusedLayerNormGrad,
  fusedRmsNorm,
  fusedRmsNormGrad,
  fusedRope,
  type GatedAct
} from "./overrides/fused.js"
export { FUSED_KERNEL_NAMES } from "./overrides/fused.js"
export { ATTENTION_KERNEL_NAMES, fusedAttention, fusedAttentionActive, fusedAttentionFits, fusedAttentionGrad } from "./overrides/attention.js"
