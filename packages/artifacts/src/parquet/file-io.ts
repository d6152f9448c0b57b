/** Low-level file reads: exact positional reads and the Parquet footer. */
import type { FileHandle } from "node:fs/promises"
import { parquetMetadata, type FileMetaData } from "hyparquet"
import { ParquetError, toParquetError } from "./errors.js"

/** Read exactly `dest.length` bytes at `position` into `dest`. */
export async function readExact(fh: FileHandle, dest: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0
  while (done < dest.length) {
    const { bytesRead } = await fh.read(dest, done, dest.length - done, position + done)
    if (bytesRead === 0) throw new ParquetError({ file, reason: `unexpected end of file at byte ${position + done}` })
    done += bytesRead
  }
}

const TAIL_GUESS = 64 * 1024

/** Parse the footer (FileMetaData) of an open Parquet file of `size` bytes. */
export async function readFooter(fh: FileHandle, size: number, file: string): Promise<FileMetaData> {
  if (size < 12) throw new ParquetError({ file, reason: `not a Parquet file (${size} bytes)` })
  let tail = new Uint8Array(Math.min(size, TAIL_GUESS))
  await readExact(fh, tail, size - tail.length, file)
  const view = new DataView(tail.buffer)
  if (view.getUint32(tail.length - 4, true) !== 0x31524150)
    throw new ParquetError({ file, reason: "not a Parquet file (no PAR1 footer magic)" })
  const metaLen = view.getUint32(tail.length - 8, true)
  if (metaLen + 12 > size) throw new ParquetError({ file, reason: `footer length ${metaLen} exceeds file size ${size}` })
  if (metaLen + 8 > tail.length) {
    tail = new Uint8Array(metaLen + 8)
    await readExact(fh, tail, size - tail.length, file)
  }
  try {
    return parquetMetadata(tail)
  } catch (e) {
    throw toParquetError(file, e)
  }
}
