export { SafetensorsError } from "./errors.js"
export {
  type Dtype,
  DTYPES,
  BYTES_PER_ELEMENT,
  isDtype,
  encode,
  decode,
  decodeInto,
  f32ToBf16Bits,
  bf16BitsToF32,
  f32ToF16Bits,
  f16BitsToF32
} from "./dtypes.js"
export { MAX_HEADER_BYTES, parseHeader, checkHeaderLength, type HeaderEntry, type ParsedHeader } from "./parse-header.js"
export { SafetensorsReader, type TensorInfo } from "./reader.js"
export { encodeHeader, tensorByteLength, type EncodedHeader, type TensorPlan } from "./encode-header.js"
export { writeSafetensors, type TensorValues } from "./writer.js"
export {
  INDEX_FILE,
  SINGLE_FILE,
  planShards,
  shardFileName,
  shardIndex,
  writeShardedSafetensors,
  type ShardIndex,
  type ShardedWriteOptions
} from "./shards.js"
export { saveSafetensors, loadSafetensors, type TensorData, type SafetensorsFile } from "./eager.js"
