import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { CLI, ROOT, tinyConfig, tmp, writeConfig } from "./helpers.js"

/**
 * The synthetic experiment end to end on webgpu (lavapipe here) against wasm: training, evaluation,
 * extraction, probes, UMAP, patching, curves, head ablation and the report, from the same config in two
 * stores. Every number of summary.json agrees within 1e-4 (relative above 1); only the backend differs.
 */
const run = (args: string[]) =>
  new Promise<number>((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, CONCEPTSCOPE_QUIET: "1" }, stdio: "ignore" })
    p.on("exit", (code) => resolve(code ?? 1))
  })

function differences(a: unknown, b: unknown, at: string, out: string[]): void {
  if (typeof a === "number" && typeof b === "number") {
    if (!(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(a))) && !(Number.isNaN(a) && Number.isNaN(b))) out.push(`${at}: ${a} vs ${b}`)
  } else if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${at}: length ${a.length} vs ${b.length}`)
    else a.forEach((x, i) => differences(x, b[i], `${at}[${i}]`, out))
  } else if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    for (const k of Object.keys(a)) differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`, out)
  } else if (a !== b) out.push(`${at}: ${String(a)} vs ${String(b)}`)
}

describe.skipIf(process.env.CONCEPTSCOPE_SKIP_WEBGPU === "1")("the synthetic sweep on webgpu", () => {
  it("gives wasm's summary.json within 1e-4, every stage on the GPU path", { timeout: 600_000 }, async () => {
    const dir = tmp("cs-webgpu-")
    const file = writeConfig(dir, tinyConfig())
    const summaries = []
    for (const backend of ["wasm", "webgpu"]) {
      const code = await run(["sweep", "--config", file, "--backend", backend, "--store", path.join(dir, `store-${backend}`), "--out", path.join(dir, `out-${backend}`)])
      expect(code, backend).toBe(0)
      summaries.push(JSON.parse(fs.readFileSync(path.join(dir, `out-${backend}`, "tiny", "seed-3", "summary.json"), "utf8")) as Record<string, unknown>)
    }
    const [wasm, webgpu] = summaries
    expect([wasm.backend, webgpu.backend]).toEqual(["wasm", "webgpu"])
    const out: string[] = []
    differences({ ...wasm, backend: null }, { ...webgpu, backend: null }, "summary", out)
    expect(out).toEqual([])
  })
})
