import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { CLI, ROOT, tinyConfig, tinyEmbeddedLlm, tmp, writeConfig } from "./helpers.js"

/**
 * Suites (config/suite.ts): one command sweeps several configs in order, each in its own store. The
 * embedded default (`default.json`) is the quick preset, then the LLM half on the embedded LM.
 */
const cli = (args: string[], cwd = ROOT) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", env: { ...process.env, CONCEPTSCOPE_QUIET: "1" } })

const tinyLlm = tinyEmbeddedLlm({ name: "llm-emb-tiny" })

describe("suites", () => {
  it("the default config is the suite quick then llm/embedded, and validate checks every member", () => {
    const r = cli(["validate"])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/configs\/quick\.json: ok \(experiment synthetic/)
    expect(r.stdout).toMatch(/configs\/llm\/embedded\.json: ok \(experiment llm, embedded, 2 cell\(s\)\)/)
  })

  it("sweeps every member into its own store and reports; --until runs the member that has the stage; --set is refused", () => {
    const dir = tmp("cs-suite-")
    const members = [writeConfig(dir, tinyConfig()), writeConfig(dir, tinyLlm, "llm.json")]
    const suite = writeConfig(dir, { suite: members, description: "test suite" }, "suite.json")
    const until = cli(["sweep", "--config", suite, "--until", "lm-model", "--out", "out"], dir)
    expect(until.status, until.stderr).toBe(0)
    expect(fs.existsSync(path.join(dir, ".conceptscope/store/llm-emb-tiny/lm-model"))).toBe(true)
    expect(fs.existsSync(path.join(dir, ".conceptscope/store/tiny"))).toBe(false)
    const all = cli(["sweep", "--config", suite, "--out", "out"], dir)
    expect(all.status, all.stderr).toBe(0)
    expect(fs.existsSync(path.join(dir, "out/tiny/seed-3/summary.json"))).toBe(true)
    expect(fs.existsSync(path.join(dir, "out/llm-emb-tiny/summary.json"))).toBe(true)
    expect(all.stdout).toMatch(/Reports \(/)
    const bad = cli(["sweep", "--config", suite, "--set", "seeds=[1]"], dir)
    expect(bad.status).toBe(1)
    expect(bad.stderr.trim().split("\n").filter((l) => !l.startsWith("[backend]"))).toEqual([expect.stringMatching(/^error: .*suite\.json: --set: a suite sweeps several configs/)])
  })
})
