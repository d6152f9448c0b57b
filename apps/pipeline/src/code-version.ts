import { sha256Hex } from "@conceptscope/artifacts"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

const cache = new Map<string, string>()

function filesUnder(dir: string, ext: RegExp = /\.ts$/): string[] {
  if (!fs.existsSync(dir)) return []
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...filesUnder(p, ext))
    else if (ext.test(e.name)) out.push(p)
  }
  return out.sort()
}

/**
 * A short hash of the source code a stage runs: the `src/` trees of the packages it uses (and their
 * `native/` C++ sources: the kernels change a model's float rounding) plus its own stage file. It is
 * appended to the stage's declared version, so editing the code behind a stage recomputes that stage
 * (and everything downstream) instead of serving a stale artifact, while a change elsewhere (another
 * package, a README, a test) keeps the cache. When the sources are not present (an installed build),
 * only the declared version counts.
 */
export function codeVersion(packages: readonly string[], stageFile: string): string {
  const key = [...packages, stageFile].join("|")
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  const files = [
    ...packages.flatMap((p) => [...filesUnder(path.join(ROOT, "packages", p, "src")), ...filesUnder(path.join(ROOT, "packages", p, "native"), /\.(cc|h)$/)]),
    path.join(ROOT, "apps", "pipeline", "src", "stages", stageFile),
    path.join(ROOT, "apps", "pipeline", "src", "stages", "common.ts")
  ].filter((f) => fs.existsSync(f))
  const h = files.length ? sha256Hex(files.map((f) => `${path.relative(ROOT, f)}\n${fs.readFileSync(f, "utf8")}`).join("\0")).slice(0, 12) : ""
  cache.set(key, h)
  return h
}

/** A stage whose version carries the hash of its code (see codeVersion). */
export const versioned = <S extends { version: string }>(stage: S, packages: readonly string[], stageFile: string): S => {
  const h = codeVersion(packages, stageFile)
  return h ? { ...stage, version: `${stage.version}+${h}` } : stage
}
