// Builds the N-API addon with the machine's C++ compiler; no network (no node-gyp header download).
// Headers: the `node-api-headers` npm package, else Node's own (/usr/include/node, <prefix>/include/node).
// Output: build/kernels-<hash>.node, where the hash covers native/*, the flags and the CPU model, so a
// stale or foreign build is never loaded. Writes to a temporary file, then renames (parallel builds are safe).
// Run directly (`node packages/kernels/build.mjs`) it builds and prints the path; it never fails an install.
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const source = path.join(here, "native", "kernels.cc")
const FLAGS = ["-O3", "-march=native", "-fno-trapping-math", "-fno-math-errno", "-std=c++17", "-shared", "-fPIC", "-fno-exceptions", "-pthread", "-DNODE_GYP_MODULE_NAME=conceptscope_kernels"]

function includeDirs() {
  const dirs = []
  try {
    const require = createRequire(import.meta.url)
    const h = require("node-api-headers")
    if (h.include_dir) dirs.push(h.include_dir)
  } catch {}
  dirs.push(path.join(path.dirname(path.dirname(process.execPath)), "include", "node"), "/usr/include/node")
  return dirs.filter((d) => fs.existsSync(path.join(d, "node_api.h")))
}

/** Path of the addon for this source, flags and CPU (it may not exist yet). */
export function addonPath() {
  const cpu = os.cpus()[0]?.model ?? "unknown"
  const hash = createHash("sha256")
  for (const f of fs.readdirSync(path.dirname(source)).sort()) hash.update(f).update(fs.readFileSync(path.join(path.dirname(source), f)))
  const h = hash.update(FLAGS.join(" ")).update(cpu).update(process.arch).digest("hex").slice(0, 16)
  return path.join(here, "build", `kernels-${h}.node`)
}

/** Build unless already built; returns the path. Throws with a one-line reason when it cannot. */
export function buildAddon() {
  const out = addonPath()
  if (fs.existsSync(out)) return out
  const inc = includeDirs()
  if (inc.length === 0) throw new Error("no node_api.h found (install the node-api-headers package or Node's headers)")
  const cxx = process.env.CXX || "g++"
  fs.mkdirSync(path.dirname(out), { recursive: true })
  const tmp = `${out}.${process.pid}.tmp`
  try {
    execFileSync(cxx, [...FLAGS, `-I${inc[0]}`, source, "-o", tmp, "-ldl"], { stdio: ["ignore", "ignore", "pipe"] })
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    const err = e && e.stderr ? String(e.stderr).split("\n").find((l) => l.includes("error")) : undefined
    throw new Error(`${cxx} failed: ${err ?? (e instanceof Error ? e.message.split("\n")[0] : String(e))}`)
  }
  fs.renameSync(tmp, out)
  return out
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(`conceptscope kernels: built ${path.relative(process.cwd(), buildAddon())}`)
  } catch (e) {
    console.log(`conceptscope kernels: not built (${e instanceof Error ? e.message : e}); stock wasm kernels will be used`)
  }
}
