import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { appRoot } from "../config/app-root.js"

/**
 * What the code behind a stage is, as hashes: a stage's version carries the hash of the code it runs,
 * so editing that code recomputes the stage (and everything downstream) instead of serving a stale
 * artifact, while a change elsewhere (another package, a README, a test) keeps the cache.
 *
 * The code of stage `<name>` is its file `src/stages/<name>.ts`, every app file it imports
 * (transitively), and the workspace packages its table entry lists with their own workspace
 * dependencies (package.json), each package being its `src/` tree, its `native/` sources (the
 * kernels change a model's float rounding) and the `*.mjs` scripts at its root (the addon build).
 *
 * Running from sources the hashes are computed from the files; the bundled CLI carries the hashes of
 * the sources it was built from (`__CONCEPTSCOPE_FINGERPRINTS__`, set by apps/pipeline/build.mjs).
 */
export interface Fingerprints {
  /** per workspace package (directory name): content hash and its workspace dependencies */
  readonly packages: Readonly<Record<string, { readonly hash: string; readonly deps: readonly string[] }>>
  /** per app source file (relative to apps/pipeline/src): content hash, app files it imports, workspace packages it imports */
  readonly files: Readonly<Record<string, { readonly hash: string; readonly imports: readonly string[]; readonly packages: readonly string[] }>>
}

declare const __CONCEPTSCOPE_FINGERPRINTS__: Fingerprints | undefined

const sha = (s: string | Buffer) => createHash("sha256").update(s).digest("hex")

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  if (!fs.existsSync(dir)) return []
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...filesUnder(p, keep))
    else if (keep(e.name)) out.push(p)
  }
  return out.sort()
}

const hashFiles = (base: string, files: readonly string[]) =>
  sha(files.map((f) => `${path.relative(base, f)}\n${sha(fs.readFileSync(f))}`).join("\n")).slice(0, 16)

/** Module specifiers a file loads at run time: static imports and re-exports (not `import type`) and dynamic imports. */
function runtimeImports(text: string): string[] {
  const statements = [...text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^;'"]*?\sfrom\s*)?["']([^"']+)["']/gm)].filter((m) => !m[1]).map((m) => m[2])
  const dynamic = [...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1])
  return [...statements, ...dynamic]
}

/** Hash the workspace's packages and the app's source files under `root` (the repository root). */
export function computeFingerprints(root: string): Fingerprints {
  const packages: Record<string, { hash: string; deps: string[] }> = {}
  const pkgRoot = path.join(root, "packages")
  for (const name of fs.readdirSync(pkgRoot).sort()) {
    const dir = path.join(pkgRoot, name)
    if (!fs.existsSync(path.join(dir, "package.json"))) continue
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { dependencies?: Record<string, string> }
    const deps = Object.keys(manifest.dependencies ?? {}).flatMap((d) => (d.startsWith("@conceptscope/") ? [d.slice("@conceptscope/".length)] : []))
    const files = [
      ...filesUnder(path.join(dir, "src"), (n) => n.endsWith(".ts") && !n.endsWith(".d.ts")),
      ...filesUnder(path.join(dir, "native"), () => true),
      ...fs.readdirSync(dir).filter((n) => n.endsWith(".mjs")).map((n) => path.join(dir, n))
    ]
    packages[name] = { hash: hashFiles(dir, files), deps: deps.sort() }
  }
  const src = path.join(root, "apps", "pipeline", "src")
  const files: Record<string, { hash: string; imports: string[]; packages: string[] }> = {}
  for (const f of filesUnder(src, (n) => n.endsWith(".ts"))) {
    const text = fs.readFileSync(f, "utf8")
    const rel = path.relative(src, f)
    const specs = runtimeImports(text)
    const imports = specs.filter((m) => m.startsWith(".")).map((m) => path.normalize(path.join(path.dirname(rel), m.replace(/\.js$/, ".ts"))))
    const pkgs = [...new Set(specs.flatMap((m) => (m.startsWith("@conceptscope/") ? [m.slice("@conceptscope/".length).split("/")[0]] : [])))]
    files[rel] = { hash: sha(text).slice(0, 16), imports: [...new Set(imports)].sort(), packages: pkgs.sort() }
  }
  return { packages, files }
}

let current: Fingerprints | undefined

/** The fingerprints of the code this process runs. */
export function fingerprints(): Fingerprints {
  if (current) return current
  current =
    typeof __CONCEPTSCOPE_FINGERPRINTS__ !== "undefined"
      ? __CONCEPTSCOPE_FINGERPRINTS__
      : computeFingerprints(path.resolve(appRoot(), "../.."))
  return current
}

/** The given packages and every workspace package they depend on, sorted. */
export function withDependencies(fp: Fingerprints, packages: readonly string[]): string[] {
  const out = new Set<string>()
  const visit = (p: string) => {
    if (out.has(p)) return
    const entry = fp.packages[p]
    if (!entry) throw new Error(`no workspace package "${p}" (packages/${p}/package.json)`)
    out.add(p)
    entry.deps.forEach(visit)
  }
  packages.forEach(visit)
  return [...out].sort()
}

/** The app files (relative to apps/pipeline/src) that `stages/<stage>.ts` runs: itself and its imports, transitively. */
export function stageFiles(fp: Fingerprints, stage: string): string[] {
  const out = new Set<string>()
  const visit = (f: string) => {
    if (out.has(f)) return
    if (!fp.files[f]) throw new Error(`apps/pipeline/src/${f} does not exist`)
    out.add(f)
    fp.files[f].imports.forEach(visit)
  }
  visit(path.join("stages", `${stage}.ts`))
  return [...out].sort()
}

/**
 * The short hash of a stage's code. Fails (naming the file) when the stage's files import a workspace
 * package that its table entry does not list, directly or as a dependency of one it lists. A stage
 * defined outside the app (`source`: its file) is that file and its packages.
 */
export function codeVersion(fp: Fingerprints, stage: string, packages: readonly string[], source?: string): string {
  const pkgs = withDependencies(fp, packages)
  if (source !== undefined) return sha([`${path.basename(source)}:${sha(fs.readFileSync(source))}`, ...pkgs.map((p) => `${p}:${fp.packages[p].hash}`)].join("\n")).slice(0, 12)
  const files = stageFiles(fp, stage)
  for (const f of files)
    for (const p of fp.files[f].packages)
      if (!pkgs.includes(p))
        throw new Error(`apps/pipeline/src/${f} (stage ${stage}) imports @conceptscope/${p}, which the stage's table entry does not list in its packages`)
  return sha([...files.map((f) => `${f}:${fp.files[f].hash}`), ...pkgs.map((p) => `${p}:${fp.packages[p].hash}`)].join("\n")).slice(0, 12)
}
