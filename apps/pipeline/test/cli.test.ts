import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { CLI, ROOT, storeListing, tinyConfig, tmp, writeConfig } from "./helpers"

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, CONCEPTSCOPE_QUIET: "1", ...env } })

describe("CLI", () => {
  it("rejects a bad config with one line naming file, field and reason, exit 1, store untouched", () => {
    const dir = tmp("cs-cli-")
    const store = path.join(dir, "store")
    fs.mkdirSync(store)
    const file = writeConfig(dir, { ...tinyConfig(), train: { ...tinyConfig().train, lr: "fast" } }, "bad.json")
    const r = cli(["sweep", "--config", file, "--store", store, "--out", path.join(dir, "out")])
    expect(r.status).toBe(1)
    const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("[backend]"))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^error: .*bad\.json: train\.lr: /)
    expect(storeListing(store)).toEqual([])
  })

  it("validates a shipped preset", () => {
    const r = cli(["validate", "--config", "quick"])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/quick\.json: ok/)
  })

  it("resumes an interrupted training run and ends with the same weights as an uninterrupted one", async () => {
    const dir = tmp("cs-resume-")
    const cfg = tinyConfig({ train: { steps: 120, batchSize: 16, lr: 0.003, checkpoints: 3 } })
    const file = writeConfig(dir, cfg)
    const straight = path.join(dir, "straight")
    const resumed = path.join(dir, "resumed")
    const base = ["sweep", "--config", file, "--until", "train", "--backend", "wasm"]
    expect(cli([...base, "--store", straight]).status).toBe(0)
    // Interrupt the second run once it has saved resumable state past the start.
    const { spawn } = await import("node:child_process")
    const child = spawn(process.execPath, [CLI, ...base, "--store", resumed], { cwd: ROOT, env: { ...process.env, CONCEPTSCOPE_QUIET: "1" } })
    const stepFile = () => {
      const r = path.join(resumed, ".resume")
      if (!fs.existsSync(r)) return null
      const d = fs.readdirSync(r)[0]
      const f = d && path.join(r, d, "state", "step.json")
      return f && fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as { step: number }).step : null
    }
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        const s = stepFile()
        if (s !== null && s >= 30) {
          clearInterval(t)
          child.kill("SIGKILL")
          resolve()
        }
      }, 50)
      child.on("exit", () => {
        clearInterval(t)
        resolve()
      })
    })
    expect(storeListing(resumed).filter((k) => k.startsWith("training-run"))).toEqual([])
    // what a kill during a save leaves behind: a later state directory half written, a curve line cut short
    const work = path.join(resumed, ".resume", fs.readdirSync(path.join(resumed, ".resume"))[0])
    fs.mkdirSync(path.join(work, "state", "step-99999999"), { recursive: true })
    fs.writeFileSync(path.join(work, "state", "step-99999999", "weights.safetensors"), "cut short")
    fs.appendFileSync(path.join(work, "curves.jsonl"), '{"step": 99')
    const r = cli([...base, "--store", resumed], { CONCEPTSCOPE_QUIET: "0" })
    expect(r.status).toBe(0)
    expect(r.stderr).toMatch(/resuming from step/)
    const runDir = (root: string) => path.join(root, storeListing(root).find((k) => k.startsWith("training-run"))!)
    const a = runDir(straight)
    const b = runDir(resumed)
    expect(path.basename(a)).toBe(path.basename(b))
    const files = JSON.parse(fs.readFileSync(path.join(a, "checkpoints.json"), "utf8")) as { file: string }[]
    for (const f of files) expect(fs.readFileSync(path.join(b, f.file)).equals(fs.readFileSync(path.join(a, f.file))), f.file).toBe(true)
    expect(fs.readFileSync(path.join(b, "curves.parquet")).equals(fs.readFileSync(path.join(a, "curves.parquet")))).toBe(true)
  })
})
