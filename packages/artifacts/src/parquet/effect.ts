/** Effect-returning wrappers of the Promise API, failing with ParquetError in the error channel. */
import { Effect } from "effect"
import { toParquetError, type ParquetError } from "./errors.js"
import { readParquetFile, readParquetSchema } from "./read.js"
import type { ParquetSchemaInfo, ParquetReadOptions, Table, ParquetWriteOptions } from "./table.js"
import { writeParquetFile } from "./write.js"

export const writeParquet = (path: string, table: Table, opts?: ParquetWriteOptions): Effect.Effect<void, ParquetError> =>
  Effect.tryPromise({ try: () => writeParquetFile(path, table, opts), catch: (e) => toParquetError(path, e) })

export const readParquet = (path: string, opts?: ParquetReadOptions): Effect.Effect<Table, ParquetError> =>
  Effect.tryPromise({ try: () => readParquetFile(path, opts), catch: (e) => toParquetError(path, e) })

export const readParquetSchemaInfo = (path: string): Effect.Effect<ParquetSchemaInfo, ParquetError> =>
  Effect.tryPromise({ try: () => readParquetSchema(path), catch: (e) => toParquetError(path, e) })
