import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/**
 * Start-up of the built CLI and a fully cached sweep, each as wall time and as a ratio to `node -e 0`
 * (Node's own start-up) measured in the same run; every figure is the median of `runs` runs.
 *   - `conceptscope --help`
 *   - `conceptscope validate` rejecting a config (probe.reportLayer beyond the model)
 *   - `conceptscope sweep --config quick` when every stage of the quick preset is in the store (the
 *     store is filled first when it is not: one full quick sweep, several minutes)
 */
export interface CliBenchRow {
  readonly name: string
  readonly seconds: number
  readonly ratio: number
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function time(args: string[], cwd: string, env: Record<string, string> = {}): { seconds: number; status: number | null; stderr: string } {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8", env: { ...process.env, ...env } })
  return { seconds: (performance.now() - t0) / 1000, status: r.status, stderr: r.stderr }
}

export function benchCli(root: string, runs = 5): CliBenchRow[] {
  const cli = path.join(root, "apps/pipeline/bin/conceptscope.mjs")
  const base = median(Array.from({ length: runs }, () => time(["-e", "0"], root).seconds))
  const rows: CliBenchRow[] = [{ name: "node -e 0", seconds: base, ratio: 1 }]
  const measure = (name: string, args: string[], expectStatus: number, env: Record<string, string> = {}) => {
    const ts = Array.from({ length: runs }, () => {
      const r = time([cli, ...args], root, env)
      if (r.status !== expectStatus) throw new Error(`${name}: exit ${r.status}: ${r.stderr.split("\n").slice(-3).join(" ")}`)
      return r.seconds
    })
    rows.push({ name, seconds: median(ts), ratio: median(ts) / base })
  }
  measure("conceptscope --help", ["--help"], 0)
  measure("conceptscope validate (a bad probe.reportLayer)", ["validate", "--config", "quick", "--set", "probe.reportLayer=9"], 1)
  const store = path.join(root, ".conceptscope/store/quick")
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "cs-bench-reports-"))
  const sweep = ["sweep", "--config", "quick", "--store", store, "--out", out]
  const fill = time([cli, ...sweep], root, { CONCEPTSCOPE_QUIET: "1" })
  if (fill.status !== 0) throw new Error(`filling the quick store: exit ${fill.status}: ${fill.stderr.split("\n").slice(-3).join(" ")}`)
  if (fill.seconds > 30) process.stderr.write(`[bench] filled ${store} first (${fill.seconds.toFixed(0)} s)\n`)
  measure("conceptscope sweep --config quick (every stage cached)", sweep, 0, { CONCEPTSCOPE_QUIET: "1" })
  fs.rmSync(out, { recursive: true, force: true })
  return rows
}
