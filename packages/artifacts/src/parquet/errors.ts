import { Data } from "effect"

/**
 * Any failure while encoding, writing or reading a Parquet file.
 * `file` is the path ("<memory>" for in-memory buffers), `field` the column when one is at fault.
 * The message is one line: `<file> [<field>]: <reason>`.
 */
export class ParquetError extends Data.TaggedError("ParquetError")<{
  readonly file: string
  readonly field?: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.file}${this.field !== undefined ? ` [${this.field}]` : ""}: ${this.reason}`
  }
}

/** Wrap an unknown thrown value (fs error, hyparquet error) into a ParquetError. */
export const toParquetError = (file: string, e: unknown, field?: string): ParquetError => {
  if (e instanceof ParquetError) return e
  const reason = (e instanceof Error ? e.message : String(e)).split("\n")[0]
  return new ParquetError({ file, field, reason })
}
