#!/usr/bin/env node
// The CLI, bundled by apps/pipeline/build.mjs (run at install and by `npm run build`).
import { existsSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const main = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "main.js")
if (!existsSync(main)) {
  process.stderr.write(`error: ${main} is not built; run \`npm run build\` at the repository root\n`)
  process.exit(1)
}
await import(pathToFileURL(main).href)
