import { type FileHandle, mkdir, open, rename, rm } from "node:fs/promises"
import { dirname } from "node:path"
import { crashPoint } from "@conceptscope/core"
import { SafetensorsError } from "./errors.js"

/**
 * Atomic replacement of `path`: `write` fills a temp file beside it (`<path>.tmp-<pid>-<time>-<k>`), which
 * is renamed over `path` only once complete; on any failure the temp file is removed and `path` is left
 * as it was. The parent directory is created if missing. Returns the bytes written (file size).
 */
let counter = 0

export async function writeAtomically(path: string, write: (fh: FileHandle) => Promise<void>): Promise<number> {
  const io = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
    try {
      return await op()
    } catch (e) {
      if (e instanceof SafetensorsError) throw e
      throw new SafetensorsError({ file: path, reason: `cannot ${what}: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}` })
    }
  }
  await io("create the directory", () => mkdir(dirname(path), { recursive: true }))
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}-${counter++}`
  const fh = await io("write", () => open(tmp, "wx"))
  let closed = false
  try {
    await write(fh)
    const size = await io("write", async () => (await fh.stat()).size)
    closed = true
    await io("write", () => fh.close())
    crashPoint("safetensors-before-rename")
    await io("rename the temp file", () => rename(tmp, path))
    return size
  } catch (e) {
    if (!closed) await fh.close().catch(() => undefined)
    await rm(tmp, { force: true }).catch(() => undefined)
    throw e
  }
}

/** Write all of `bytes` at the file handle's position, as a SafetensorsError naming `path` on failure. */
export async function writeAll(path: string, fh: FileHandle, bytes: Uint8Array): Promise<void> {
  try {
    let done = 0
    while (done < bytes.length) done += (await fh.write(bytes, done, bytes.length - done)).bytesWritten
  } catch (e) {
    throw new SafetensorsError({ file: path, reason: `cannot write: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}` })
  }
}
