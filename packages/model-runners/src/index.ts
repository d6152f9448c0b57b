export { initBackend, matmul, onWasm, stockWasmMatmul, transposeLast2, type BackendInfo, type BackendPref } from "./backend"
export { channelMatmul } from "./channel-matmul"
export { installWasmKernels, uninstallWasmKernels, nativeMatmulActive } from "@conceptscope/kernels"
export {
  RegressionTransformer,
  RegressionTransformerConfig,
  createRegressionTransformer,
  decodeConfig,
  parameterSpecs,
  quickModelConfig,
  studyModelConfig,
  CHECKPOINT_FORMAT,
  type ForwardResult
} from "./regression-transformer"
export { HookRunner, type CaptureSpec, type ForwardOptions } from "./hook-points"
export { layerNorm, gelu, linear, causalMaskValues, LN_EPS } from "./layers"
export { saveSafetensors, loadSafetensors, type TensorData, type SafetensorsFile } from "./safetensors"
export { BackendError, ModelConfigError, ForwardError, SafetensorsError, CheckpointError } from "./errors"
