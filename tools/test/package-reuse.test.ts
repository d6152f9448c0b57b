import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/**
 * Reuse of single packages in another project: `npm pack` @conceptscope/artifacts and
 * @conceptscope/probes (with @conceptscope/core, which probes depends on), install the tarballs into
 * a scratch project outside the workspace, and compute TD there from plain JavaScript (Node's own
 * module resolution, the packages' built dist/ and declarations). The scratch project checks TD
 * against a leave-one-out 10-NN written out by hand in the same script.
 */
const SCRIPT = String.raw`
import { readParquetFile, writeParquetFile } from "@conceptscope/artifacts"
import { taskDecodability } from "@conceptscope/probes"

// 3 concepts x 30 points in 6 dims: well-separated means plus noise from a fixed LCG
let s = 12345
const rand = () => ((s = (1103515245 * s + 12345) % 2147483648) / 2147483648) - 0.5
const C = 3, per = 30, d = 6, n = C * per
const X = new Float32Array(n * d), labels = new Int32Array(n)
for (let i = 0; i < n; i++) {
  labels[i] = i % C
  for (let j = 0; j < d; j++) X[i * d + j] = (j === labels[i] ? 1.2 : 0) + rand()
}
await writeParquetFile("points.parquet", { numRows: n, columns: [{ name: "label", type: "int32", data: labels }, { name: "x", type: "vector", dim: d, data: X }] })
const t = await readParquetFile("points.parquet")
const back = t.columns.find((c) => c.name === "x").data
const got = taskDecodability(back, t.columns.find((c) => c.name === "label").data, C, { k: 10 })

// the same by hand: each point's 10 nearest other points vote (ties: smaller summed distance, then smaller label)
const correct = new Array(C).fill(0)
for (let i = 0; i < n; i++) {
  const dist = []
  for (let j = 0; j < n; j++) if (j !== i) {
    let q = 0
    for (let k = 0; k < d; k++) q += (X[i * d + k] - X[j * d + k]) ** 2
    dist.push([q, j])
  }
  dist.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const votes = new Array(C).fill(0), sums = new Array(C).fill(0)
  for (const [q, j] of dist.slice(0, 10)) { votes[labels[j]]++; sums[labels[j]] += Math.sqrt(q) }
  let best = 0
  for (let c = 1; c < C; c++) if (votes[c] > votes[best] || (votes[c] === votes[best] && sums[c] < sums[best])) best = c
  if (best === labels[i]) correct[labels[i]]++
}
const expected = correct.map((c) => c / per)
console.log(JSON.stringify({ td: got.td, perClass: Array.from(got.perClass), expected }))
`

describe("packages reused outside the workspace", () => {
  it("npm pack artifacts + probes, install into a scratch project, compute TD from plain JavaScript", () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "cs-reuse-"))
    const tarballs = ["core", "artifacts", "probes"].map((p) => {
      const out = execFileSync("npm", ["pack", "--pack-destination", scratch, "--silent"], { cwd: path.join(ROOT, "packages", p), encoding: "utf8" })
      return path.join(scratch, out.trim().split("\n").pop()!)
    })
    const listing = execFileSync("tar", ["-tzf", tarballs[2]], { encoding: "utf8" })
    expect(listing).toContain("package/dist/index.js")
    expect(listing).toContain("package/dist/index.d.ts")
    fs.writeFileSync(path.join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }))
    const install = spawnSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs], { cwd: scratch, encoding: "utf8" })
    expect(install.status, install.stderr).toBe(0)
    // installed copies, not links back into the workspace
    expect(fs.lstatSync(path.join(scratch, "node_modules/@conceptscope/probes")).isSymbolicLink()).toBe(false)
    fs.writeFileSync(path.join(scratch, "td.mjs"), SCRIPT)
    const run = spawnSync(process.execPath, ["td.mjs"], { cwd: scratch, encoding: "utf8" })
    expect(run.status, run.stderr).toBe(0)
    const r = JSON.parse(run.stdout.trim().split("\n").pop()!) as { td: number; perClass: number[]; expected: number[] }
    expect(r.perClass).toEqual(r.expected)
    expect(r.td).toBeCloseTo(r.expected.reduce((a, b) => a + b, 0) / 3, 12)
    expect(r.td).toBeGreaterThan(0.5)
    fs.rmSync(scratch, { recursive: true, force: true })
  }, 300_000)
})
