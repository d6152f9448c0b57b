import { createXXHash64, type IHasher } from "hash-wasm"
import * as fs from "node:fs"
import * as path from "node:path"
import type { FileEntry } from "./manifest.js"

/**
 * File integrity for artifacts: each data file's size and xxhash64, recorded in the manifest at commit
 * and checked on read. xxhash64 (hash-wasm, WebAssembly) measured 4.7 GB/s here against 1.4 GB/s for
 * Node's sha256 and 0.4 GB/s for writing the same bytes (`npm run bench -- --only=integrity` reports the
 * cost on commit and on verify as a ratio to the write); it detects corruption, not tampering.
 */
let hasher: Promise<IHasher> | undefined
const CHUNK = 4 << 20

/** xxhash64 of a file, as 16 hex digits, read in 4 MiB chunks. */
export async function hashFile(file: string): Promise<string> {
  const h = await (hasher ??= createXXHash64())
  h.init()
  const fd = fs.openSync(file, "r")
  try {
    const buf = Buffer.allocUnsafe(CHUNK)
    for (let n = fs.readSync(fd, buf, 0, CHUNK, null); n > 0; n = fs.readSync(fd, buf, 0, CHUNK, null)) h.update(buf.subarray(0, n))
  } finally {
    fs.closeSync(fd)
  }
  return h.digest("hex")
}

/** Every file under `dir` (relative paths, "/"-separated, sorted), except `manifest.json` at the top. */
export function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name
    if (e.isDirectory()) out.push(...listFiles(path.join(dir, e.name), rel))
    else if (rel !== "manifest.json") out.push(rel)
  }
  return out.sort()
}

/** The manifest entries of every data file of a staged artifact. */
export async function fileEntries(dir: string): Promise<FileEntry[]> {
  const out: FileEntry[] = []
  for (const rel of listFiles(dir)) {
    const file = path.join(dir, rel)
    out.push({ path: rel, size: fs.statSync(file).size, xxh64: await hashFile(file) })
  }
  return out
}

/** One problem with an artifact's files, naming the file. */
export interface FileProblem {
  readonly file: string
  readonly reason: string
}

/** Sizes (always) and hashes (when asked) of an artifact's files against its manifest; extra files are problems too. */
export async function checkFiles(dir: string, files: readonly FileEntry[], hashes: boolean): Promise<FileProblem[]> {
  const problems: FileProblem[] = []
  for (const f of files) {
    const file = path.join(dir, f.path)
    let size: number
    try {
      size = fs.statSync(file).size
    } catch {
      problems.push({ file, reason: "missing" })
      continue
    }
    if (size !== f.size) problems.push({ file, reason: `${size} bytes, the manifest says ${f.size}` })
    else if (hashes) {
      const h = await hashFile(file)
      if (h !== f.xxh64) problems.push({ file, reason: `content changed (xxhash64 ${h}, the manifest says ${f.xxh64})` })
    }
  }
  if (hashes) {
    const listed = new Set(files.map((f) => f.path))
    for (const rel of listFiles(dir)) if (!listed.has(rel)) problems.push({ file: path.join(dir, rel), reason: "not in the manifest" })
  }
  return problems
}
