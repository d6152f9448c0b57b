/**
 * @conceptscope/activation-store: streaming writer and filtered reader of activation vectors,
 * stored as Parquet shards (one (checkpoint, layer, hook) per shard) plus index.json.
 */
export { ActivationStoreError } from "./errors.js"
export type { ActivationIndex, ShardEntry } from "./index-file.js"
export { ActivationWriter, type ActivationBatch, type ActivationWriterOptions } from "./writer.js"
export { ActivationReader, type ActivationFilter, type ActivationSlice } from "./reader.js"
