import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

let root: string | undefined

/**
 * The pipeline app's directory (the one holding its package.json and `configs/`), found from this
 * module's location, which differs between the sources (src/...) and the bundled CLI (dist/).
 */
export function appRoot(): string {
  if (root) return root
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!fs.existsSync(path.join(dir, "configs")) || !fs.existsSync(path.join(dir, "package.json"))) {
    const up = path.dirname(dir)
    if (up === dir) throw new Error(`no apps/pipeline directory above ${fileURLToPath(import.meta.url)}`)
    dir = up
  }
  root = dir
  return dir
}
