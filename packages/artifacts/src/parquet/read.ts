/**
 * Public read entry points: the fast path for our own files, hyparquet for everything else.
 */
import { open, type FileHandle } from "node:fs/promises"
import type { AsyncBuffer, FileMetaData } from "hyparquet"
import { ParquetError, toParquetError } from "./errors.js"
import { readExact, readFooter } from "./file-io.js"
import { COLUMNS_KEY } from "./format.js"
import { ownColumns, readFast } from "./read-fast.js"
import { describeNode, firstListLength, readGeneral, topLevelNodes } from "./read-general.js"
import type { ColumnInfo, ParquetSchemaInfo, ParquetReadOptions, Table } from "./table.js"

/** hyparquet's file abstraction over an open handle (reads only the byte ranges asked for). */
const asyncBuffer = (fh: FileHandle, size: number, file: string): AsyncBuffer => ({
  byteLength: size,
  async slice(start: number, end?: number): Promise<ArrayBuffer> {
    const stop = Math.min(end ?? size, size)
    const out = new Uint8Array(Math.max(0, stop - start))
    await readExact(fh, out, start, file)
    return out.buffer
  }
})

async function withFile<A>(file: string, f: (fh: FileHandle, size: number) => Promise<A>): Promise<A> {
  let fh: FileHandle | undefined
  try {
    fh = await open(file, "r")
    const { size } = await fh.stat()
    return await f(fh, size)
  } catch (e) {
    throw toParquetError(file, e)
  } finally {
    await fh?.close()
  }
}

const userKv = (meta: FileMetaData): Record<string, string> => {
  const kv: Record<string, string> = {}
  for (const e of meta.key_value_metadata ?? []) if (e.key !== COLUMNS_KEY) kv[e.key] = e.value ?? ""
  return kv
}

/** Columns of the file as stored; vector dims of foreign files are not known yet (see schema). */
const storedColumns = (meta: FileMetaData, file: string): { own: boolean; columns: ColumnInfo[] } => {
  const own = ownColumns(meta)
  if (own) return { own: true, columns: own }
  return { own: false, columns: topLevelNodes(meta).map((n) => describeNode(n, file)) }
}

/** Pick requested columns in the order asked; ParquetError for an unknown name. */
function select(stored: ColumnInfo[], names: string[] | undefined, file: string): ColumnInfo[] {
  if (names === undefined) return stored
  return names.map((name) => {
    const c = stored.find((s) => s.name === name)
    if (!c) throw new ParquetError({ file, field: name, reason: "no such column" })
    return c
  })
}

/** Read a Parquet file (all columns, or `opts.columns` in that order) into a Table. */
export function readParquetFile(path: string, opts: ParquetReadOptions = {}): Promise<Table> {
  return withFile(path, async (fh, size) => {
    const meta = await readFooter(fh, size, path)
    const own = ownColumns(meta)
    if (own) return readFast(fh, meta, own, select(own, opts.columns, path), path)
    const nodes = topLevelNodes(meta)
    const wantedNodes =
      opts.columns === undefined
        ? nodes
        : opts.columns.map((name) => {
            const n = nodes.find((x) => x.element.name === name)
            if (!n) throw new ParquetError({ file: path, field: name, reason: "no such column" })
            return n
          })
    const wanted = wantedNodes.map((n) => describeNode(n, path))
    return readGeneral(asyncBuffer(fh, size, path), meta, wanted, path)
  })
}

/** Row count, column descriptions and user key/value metadata, from the footer (plus one row for foreign vectors' dims). */
export function readParquetSchema(path: string): Promise<ParquetSchemaInfo> {
  return withFile(path, async (fh, size) => {
    const meta = await readFooter(fh, size, path)
    const { own, columns } = storedColumns(meta, path)
    if (!own)
      for (const c of columns)
        if (c.type === "vector") {
          const dim = await firstListLength(asyncBuffer(fh, size, path), meta, c.name, path)
          if (dim !== undefined) c.dim = dim
        }
    return { numRows: Number(meta.num_rows), columns, kvMetadata: userKv(meta) }
  })
}
