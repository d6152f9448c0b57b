/**
 * @conceptscope/activation-store: streaming writer and filtered reader of activation vectors,
 * stored as Parquet shards (one (checkpoint, layer, hook) per shard) plus index.json.
 */
export { ActivationStoreError } from "./errors"
export { ActivationIndexSchema, ShardEntrySchema, type ActivationIndex, type ShardEntry } from "./index-file"
export { ActivationWriter, defaultHook, SHARD_KV_KEY, type ActivationBatch, type ActivationWriterOptions } from "./writer"
export { ActivationReader, type ActivationFilter, type ActivationSlice } from "./reader"
export { benchActivationStore, type BenchOptions, type BenchResult } from "./bench"
