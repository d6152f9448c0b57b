// Bundles the CLI (src/main.ts) and the workspace packages it uses into dist/ with esbuild: one file
// for start-up (effect, @effect/cli and the config code), the stages in chunks loaded on demand, so
// `conceptscope --help` and a fully cached sweep start fast. Packages that ship native or wasm files, or
// locate files next to their own modules, stay external and load from node_modules. The code-version
// fingerprints of the sources the bundle was built from are compiled in (__CONCEPTSCOPE_FINGERPRINTS__).
import { build } from "esbuild"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { tsImport } from "tsx/esm/api"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")
const { computeFingerprints } = await tsImport("./src/experiment/code-version.ts", import.meta.url)
const fingerprints = computeFingerprints(root)

const EXTERNAL = ["@tensorflow/*", "@conceptscope/kernels", "webgpu", "bullmq", "ioredis", "@resvg/resvg-js", "vega", "vega-lite", "@huggingface/tokenizers", "umap-js", "ml-matrix", "hyparquet"]

const out = path.join(here, "dist")
const tmp = `${out}.tmp-${process.pid}`
fs.rmSync(tmp, { recursive: true, force: true })
await build({
  entryPoints: [path.join(here, "src", "main.ts")],
  outdir: tmp,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  conditions: ["@conceptscope/source"],
  external: EXTERNAL,
  sourcemap: "linked",
  logLevel: "warning",
  define: { __CONCEPTSCOPE_FINGERPRINTS__: JSON.stringify(fingerprints) },
  // bundled CommonJS dependencies call require(); give them one
  banner: { js: "import { createRequire as __csCreateRequire } from 'node:module'; const require = __csCreateRequire(import.meta.url);" }
})
// Chunks have content-hashed names: move the new ones in beside the old (a sweep running from the
// previous build still loads its chunks on demand), the entry last, then drop chunks that no build of
// the last hour needs.
fs.mkdirSync(out, { recursive: true })
const fresh = fs.readdirSync(tmp)
for (const f of fresh.filter((f) => !f.startsWith("main.js"))) fs.renameSync(path.join(tmp, f), path.join(out, f))
for (const f of fresh.filter((f) => f.startsWith("main.js"))) fs.renameSync(path.join(tmp, f), path.join(out, f))
fs.rmSync(tmp, { recursive: true, force: true })
const keep = new Set(fresh)
for (const f of fs.readdirSync(out)) {
  const p = path.join(out, f)
  if (!keep.has(f) && Date.now() - fs.statSync(p).mtimeMs > 3600_000) fs.rmSync(p, { recursive: true, force: true })
}
console.log(`conceptscope CLI: bundled ${path.relative(process.cwd(), path.join(out, "main.js"))}`)
