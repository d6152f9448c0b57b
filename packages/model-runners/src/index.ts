export { initBackend, matmul, onWasm, onWebgpu, type BackendInfo, type BackendPref } from "./backend.js"
export { selfAttention } from "./channel-matmul.js"
export {
  RegressionTransformer,
  RegressionTransformerConfig,
  parameterSpecs,
  quickModelConfig,
  studyModelConfig,
  type ForwardResult
} from "./regression-transformer.js"
export type { CaptureSpec, ForwardOptions } from "./hook-points.js"
export { layerNorm, gelu, linear, causalMaskValues } from "./layers.js"
export { BackendError, ModelConfigError, ForwardError, CheckpointError } from "./errors.js"
export { CausalLM, type ExecutionMode, type LmBatch, type LmForwardOptions, type LmForwardResult, type LoadOptions } from "./hf/causal-lm.js"
export { HfCheckpoint } from "./hf/checkpoint.js"
export { WeightPrefetcher, type TensorRange } from "./hf/weight-prefetch.js"
export { generateGreedy, scoreTargets, type GenerateOptions, type ScoreItem, type ScoreResult } from "./hf/decoding.js"
export { SUPPORTED_MODEL_TYPES } from "./hf/load-architecture.js"
export type { Architecture, DecoderDims } from "./hf/architecture.js"
export { loadTokenizer, type LmTokenizer } from "./hf/tokenizer.js"
export { buildTokenizer, preTokenize, SPECIAL_TOKENS, type BuiltTokenizer } from "./hf/build-tokenizer.js"
export { dropoutMask, LORA_TARGETS, LoraAdapter, loraModule, STUDY_LORA, type LoraSpec, type LoraTarget } from "./hf/lora.js"
export { llamaConfigJson, TrainableLlama, writeHfDirectory, type LlamaSize, type SpecialIds } from "./hf/trainable-llama.js"
