/**
 * @conceptscope/artifacts: a content-addressed artifact store, cached pipeline stages and the
 * Parquet codec their data files use.
 */
export { ParamsError, StageError, StoreError } from "./errors.js"
export { artifactKey, canonicalJson, sha256Hex } from "./canonical.js"
export { decodeParams } from "./decode.js"
export type { ArtifactRef, FileEntry, Manifest } from "./manifest.js"
export { ArtifactStore, ArtifactStoreLive, type ArtifactStoreService, type StoreOptions } from "./store.js"
export { cleanLeftovers, type StoreProblem, verifyStore } from "./maintenance.js"
export type { LockOwner } from "./key-lock.js"
export {
  defineStage,
  NoMeta,
  lookupStage,
  runStage,
  stageKey,
  type AnyStage,
  type Stage,
  type StageContext,
  type StageOutput,
  type StageResult
} from "./stage.js"
export { readJson, writeJson } from "./json-artifact.js"
export { hashFile } from "./integrity.js"
export {
  ParquetError,
  ParquetStreamWriter,
  encodeParquet,
  readParquet,
  readParquetFile,
  readParquetSchema,
  readParquetSchemaInfo,
  writeParquet,
  writeParquetFile,
  type Column,
  type ColumnInfo,
  type ColumnType,
  type ParquetReadOptions,
  type ParquetSchemaInfo,
  type ParquetStreamOptions,
  type ParquetWriteOptions,
  type Table
} from "./parquet/index.js"
export { getColumn, recordsFromTable, tableFromRecords, type RecordSpec } from "./table-access.js"
