/**
 * Streaming Parquet writer: open with a fixed column list, append row groups one at a time
 * (each written straight to the file, vector values without a copy), then close to write the
 * footer. Until close() the file has no footer and is not a valid Parquet file.
 */
import { open, rm, type FileHandle } from "node:fs/promises"
import { ParquetError, toParquetError } from "./errors.js"
import type { RowGroupMeta } from "./footer.js"
import { MAGIC } from "./format.js"
import { allocateColumn, tableSchema, validateTable, type ColumnInfo, type Table } from "./table.js"
import { checkHost, encodeFooter, encodeRowGroup, writeParts } from "./write.js"

export interface ParquetStreamOptions {
  kvMetadata?: Record<string, string>
}

const sameColumns = (a: ColumnInfo[], b: ColumnInfo[]): string | undefined => {
  if (a.length !== b.length) return `${b.length} columns, expected ${a.length}`
  for (let i = 0; i < a.length; i++)
    if (a[i].name !== b[i].name || a[i].type !== b[i].type || a[i].dim !== b[i].dim)
      return `column ${i} is ${b[i].name}:${b[i].type}${b[i].dim ?? ""}, expected ${a[i].name}:${a[i].type}${a[i].dim ?? ""}`
  return undefined
}

export class ParquetStreamWriter {
  private offset = MAGIC.length
  private readonly rowGroups: RowGroupMeta[] = []
  private rows = 0
  private done = false

  private constructor(
    readonly path: string,
    readonly columns: ColumnInfo[],
    private readonly fh: FileHandle,
    private readonly kvMetadata: Record<string, string>
  ) {}

  /** Create (or truncate) `path` and write the leading magic. */
  static async open(path: string, columns: ColumnInfo[], opts: ParquetStreamOptions = {}): Promise<ParquetStreamWriter> {
    checkHost(path)
    const empty: Table = { numRows: 0, columns: columns.map((c) => allocateColumn(c, 0)) }
    validateTable(path, empty) // names, duplicate names, vector dims
    let fh: FileHandle | undefined
    try {
      fh = await open(path, "w")
      await writeParts(fh, [MAGIC])
    } catch (e) {
      await fh?.close()
      throw toParquetError(path, e)
    }
    return new ParquetStreamWriter(path, tableSchema(empty), fh, { ...(opts.kvMetadata ?? {}) })
  }

  /** Rows written so far. */
  get numRows(): number {
    return this.rows
  }

  /** Bytes written so far (without the footer). */
  get bytesWritten(): number {
    return this.offset
  }

  /** Append the table as one row group (a table with zero rows is skipped). */
  async writeRowGroup(table: Table): Promise<void> {
    if (this.done) throw new ParquetError({ file: this.path, reason: "write after close" })
    validateTable(this.path, table)
    const mismatch = sameColumns(this.columns, tableSchema(table))
    if (mismatch) throw new ParquetError({ file: this.path, reason: `row group does not match the schema: ${mismatch}` })
    if (table.numRows === 0) return
    const rg = encodeRowGroup(this.path, table.columns, 0, table.numRows, this.offset)
    try {
      await writeParts(this.fh, rg.parts)
    } catch (e) {
      throw toParquetError(this.path, e)
    }
    this.offset += rg.size
    this.rowGroups.push(rg.meta)
    this.rows += table.numRows
  }

  /** Write the footer and close the file. */
  async close(): Promise<void> {
    if (this.done) throw new ParquetError({ file: this.path, reason: "closed twice" })
    this.done = true
    try {
      await writeParts(this.fh, encodeFooter(this.columns, this.rows, this.rowGroups, this.kvMetadata))
    } catch (e) {
      throw toParquetError(this.path, e)
    } finally {
      await this.fh.close()
    }
  }

  /** Close without a footer and delete the partial file. */
  async abort(): Promise<void> {
    if (this.done) return
    this.done = true
    await this.fh.close()
    await rm(this.path, { force: true })
  }
}
