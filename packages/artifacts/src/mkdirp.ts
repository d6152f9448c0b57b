import * as fs from "node:fs"
import * as path from "node:path"

/**
 * `mkdir -p` that reports the real cause: Node's recursive mkdir answers ENOENT on a read-only file
 * system (EROFS) and in some other cases; on failure this retries the first missing directory on its
 * own, whose error names it and the cause (EROFS, EACCES, ENOSPC, ENOTDIR).
 */
export function mkdirp(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true })
  } catch (e) {
    let first = path.resolve(dir)
    while (!fs.existsSync(path.dirname(first)) && path.dirname(first) !== first) first = path.dirname(first)
    fs.mkdirSync(first) // throws the precise error
    throw e
  }
}
