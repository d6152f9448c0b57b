/**
 * Parquet codec for columnar Tables (int32, int64, float32, float64, bool, string, and float32
 * vectors stored as 3-level LISTs). Own fast writer/reader; hyparquet for foreign files.
 */
export { ParquetError } from "./errors"
export type { Column, ColumnInfo, ColumnType, ParquetSchemaInfo, ParquetReadOptions, Table, ParquetWriteOptions } from "./table"
export { encodeParquet, writeParquetFile } from "./write"
export { readParquetFile, readParquetSchema } from "./read"
export { readParquet, readParquetSchemaInfo, writeParquet } from "./effect"
export { ParquetStreamWriter, type ParquetStreamOptions } from "./stream"
