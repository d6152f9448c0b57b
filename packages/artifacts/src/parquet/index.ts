/**
 * Parquet codec for columnar Tables (int32, int64, float32, float64, bool, string, and float32
 * vectors stored as 3-level LISTs). Own fast writer/reader; hyparquet for foreign files.
 */
export { ParquetError } from "./errors.js"
export type { Column, ColumnInfo, ColumnType, ParquetSchemaInfo, ParquetReadOptions, Table, ParquetWriteOptions } from "./table.js"
export { encodeParquet, writeParquetFile } from "./write.js"
export { readParquetFile, readParquetSchema } from "./read.js"
export { readParquet, readParquetSchemaInfo, writeParquet } from "./effect.js"
export { ParquetStreamWriter, type ParquetStreamOptions } from "./stream.js"
