export { initBackend, matmul, onWasm, stockWasmMatmul, transposeLast2, type BackendInfo, type BackendPref } from "./backend"
export { channelMatmul, selfAttention } from "./channel-matmul"
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
export { CausalLM, type ExecutionMode, type LmBatch, type LmForwardOptions, type LmForwardResult, type LoadOptions } from "./hf/causal-lm"
export { HfCheckpoint } from "./hf/checkpoint"
export { generateGreedy, scoreTargets, type GenerateOptions, type ScoreItem, type ScoreResult } from "./hf/decoding"
export { SUPPORTED_MODEL_TYPES, architectureFor } from "./hf/load-architecture"
export type { Architecture, DecoderDims } from "./hf/architecture"
export { loadTokenizer, type LmTokenizer } from "./hf/tokenizer"
export { SafetensorsReader, type Dtype } from "./safetensors-reader"
