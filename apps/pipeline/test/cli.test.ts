import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { CLI, ROOT, storeListing, tinyConfig, tmp, writeConfig } from "./helpers.js"

const cli = (args: string[], env: Record<string, string> = {}, cwd = ROOT) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", env: { ...process.env, CONCEPTSCOPE_QUIET: "1", ...env } })

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

  it("--backend webgpu without any adapter fails in one line that says what to install, store untouched", () => {
    const dir = tmp("cs-cli-")
    const store = path.join(dir, "store")
    fs.mkdirSync(store)
    const file = writeConfig(dir, tinyConfig())
    // no Vulkan driver visible to Dawn: the loader is pointed at a file that does not exist
    const r = cli(["sweep", "--config", file, "--store", store, "--out", path.join(dir, "out"), "--backend", "webgpu"], { VK_ICD_FILENAMES: path.join(dir, "none.json"), VK_DRIVER_FILES: path.join(dir, "none.json") })
    expect(r.status).toBe(1)
    // the Vulkan loader and Dawn print their own warnings to stderr first; ours is one line, the last
    const ours = r.stderr.trim().split("\n").filter((l) => l.startsWith("error:"))
    expect(ours).toHaveLength(1)
    expect(r.stderr.trim().split("\n").at(-1)).toBe(ours[0])
    expect(ours[0]).toMatch(/^error: backend webgpu: Dawn found no WebGPU adapter.*apt-get install -t bookworm-backports mesa-vulkan-drivers$/)
    expect(storeListing(store)).toEqual([])
  })

  it("validates a shipped preset", () => {
    const r = cli(["validate", "--config", "quick"])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/quick\.json: ok/)
  })

  it("validate rejects a report layer outside the model and a last-layer y-token patch, naming the field", () => {
    for (const [set, re] of [
      ["probe.reportLayer=4", /^error: configs\/quick\.json: probe\.reportLayer: 4 is not a layer of a 4-layer model/],
      ["patching.layer=3", /^error: configs\/quick\.json: patching\.layer: 3 is the last layer/]
    ] as const) {
      // the last-layer rule concerns y-token patching (at the query token the last layer feeds the read-out)
      const r = cli(["validate", "--config", "quick", "--set", set, "--set", 'patching.positions="y-tokens"'], {}, path.join(ROOT, "apps/pipeline"))
      expect(r.status, set).toBe(1)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr, set).toMatch(re)
    }
  })

  it("refuses an --until that is not a stage of the experiment", () => {
    const r = cli(["sweep", "--config", "quick", "--until", "data"])
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^error: --until: data: not a stage of experiment synthetic \(evalset, probeset, train, /)
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
      const d = fs.readdirSync(r).find((x) => x.startsWith("train-"))
      const f = d && path.join(r, d, "state", "step.json")
      if (!f || !fs.existsSync(f)) return null
      try {
        return (JSON.parse(fs.readFileSync(f, "utf8")) as { step: number }).step
      } catch {
        return null
      }
    }
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        const s = stepFile()
        if (s !== null && s >= 30) {
          clearInterval(t)
          child.kill("SIGKILL")
        }
      }, 50)
      child.on("exit", () => {
        clearInterval(t)
        resolve()
      })
    })
    expect(storeListing(resumed).filter((k) => k.startsWith("train/"))).toEqual([])
    // what a kill during a save leaves behind: a later state directory half written, a checkpoint's temporary file
    const work = path.join(resumed, ".resume", fs.readdirSync(path.join(resumed, ".resume")).find((x) => x.startsWith("train-"))!)
    fs.mkdirSync(path.join(work, "state", "step-99999999"), { recursive: true })
    fs.writeFileSync(path.join(work, "state", "step-99999999", "weights.safetensors"), "cut short")
    fs.writeFileSync(path.join(work, "checkpoints", "step-00000120.safetensors.tmp-1-2"), "")
    const r = cli([...base, "--store", resumed], { CONCEPTSCOPE_QUIET: "0" })
    expect(r.status).toBe(0)
    expect(r.stderr).toMatch(/resuming from step/)
    const runDir = (root: string) => path.join(root, storeListing(root).find((k) => k.startsWith("train/"))!)
    const a = runDir(straight)
    const b = runDir(resumed)
    expect(path.basename(a)).toBe(path.basename(b))
    const files = JSON.parse(fs.readFileSync(path.join(a, "checkpoints.json"), "utf8")) as { file: string }[]
    for (const f of files) expect(fs.readFileSync(path.join(b, f.file)).equals(fs.readFileSync(path.join(a, f.file))), f.file).toBe(true)
    expect(fs.readdirSync(path.join(b, "checkpoints")).sort()).toEqual(files.map((f) => path.basename(f.file)).sort())
    expect(fs.readFileSync(path.join(b, "checkpoints.json"), "utf8")).toBe(fs.readFileSync(path.join(a, "checkpoints.json"), "utf8"))
    // the commit retired the run's work directory
    expect(fs.readdirSync(path.join(resumed, ".resume"))).toEqual([])
  })
})
