import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { type AnyEntry, codeVersion, EXPERIMENTS, fingerprints, type Fingerprints, stageFiles, withDependencies } from "../src/index.js"
import { ROOT } from "./helpers.js"

const stagesDir = path.join(ROOT, "apps/pipeline/src/stages")

describe("the stage tables", () => {
  for (const [name, experiment] of Object.entries(EXPERIMENTS)) {
    const entries = experiment.entries as readonly AnyEntry<unknown>[]
    it(`${name}: one name per stage: entry, stage definition and file src/stages/<name>.ts`, async () => {
      for (const e of entries) {
        expect(fs.existsSync(path.join(stagesDir, `${e.name}.ts`)), e.name).toBe(true)
        expect((await e.load()).name).toBe(e.name)
      }
    })
    it(`${name}: every stage's files import only the packages its entry lists (or their dependencies)`, () => {
      for (const e of entries) expect(codeVersion(fingerprints(), e.name, e.packages), e.name).toMatch(/^[0-9a-f]{12}$/)
    })
  }

  it("a stage that runs tfjs code starts the tensor backend (else tfjs falls back to its slow cpu backend)", () => {
    const fp = fingerprints()
    const usesTfjs = (p: string) => {
      const deps = JSON.parse(fs.readFileSync(path.join(ROOT, "packages", p, "package.json"), "utf8")).dependencies ?? {}
      return "@tensorflow/tfjs" in deps
    }
    // stages that import a tfjs-using package but compute no tensors
    const noTensors: Record<string, string> = {
      report: "uses only the statistics of @conceptscope/probes (Spearman, halfway steps)",
      "lm-model": "reads config.json through HfCheckpoint and hashes files"
    }
    for (const [, experiment] of Object.entries(EXPERIMENTS))
      for (const e of experiment.entries as readonly AnyEntry<unknown>[]) {
        if (e.name in noTensors) continue
        const files = stageFiles(fp, e.name)
        const runsTfjs = files.some((f) => fp.files[f].packages.some((p) => withDependencies(fp, [p]).some(usesTfjs)) || /from "@tensorflow\/tfjs"/.test(fs.readFileSync(path.join(ROOT, "apps/pipeline/src", f), "utf8")))
        const starts = /yield\* useTensorBackend/.test(fs.readFileSync(path.join(stagesDir, `${e.name}.ts`), "utf8"))
        expect(starts, `${e.name} runs tfjs code: it must start the backend`).toBe(runsTfjs)
      }
  })

  it("every file in src/stages is a stage of some table", () => {
    const names = new Set(Object.values(EXPERIMENTS).flatMap((x) => (x.entries as readonly AnyEntry<unknown>[]).map((e) => e.name)))
    for (const f of fs.readdirSync(stagesDir).filter((f) => f.endsWith(".ts"))) expect(names.has(f.replace(/\.ts$/, "")), f).toBe(true)
  })

  it("a stage's code version follows its own files and packages (with their dependencies), not the others", () => {
    const fp: Fingerprints = {
      packages: { core: { hash: "c", deps: [] }, probes: { hash: "p", deps: ["core"] }, reporters: { hash: "r", deps: [] } },
      files: {
        "stages/a.ts": { hash: "a", imports: ["stages/shared/x.ts"], packages: ["probes"] },
        "stages/shared/x.ts": { hash: "x", imports: [], packages: ["core"] },
        "stages/b.ts": { hash: "b", imports: [], packages: [] }
      }
    }
    const v = codeVersion(fp, "a", ["probes"])
    const change = (f: (c: Fingerprints) => void) => {
      const c = structuredClone(fp) as Fingerprints
      f(c)
      return codeVersion(c, "a", ["probes"])
    }
    expect(stageFiles(fp, "a")).toEqual(["stages/a.ts", "stages/shared/x.ts"])
    expect(change((c) => ((c.files["stages/shared/x.ts"] as { hash: string }).hash = "x2"))).not.toBe(v)
    expect(change((c) => ((c.packages.core as { hash: string }).hash = "c2"))).not.toBe(v)
    expect(change((c) => ((c.packages.reporters as { hash: string }).hash = "r2"))).toBe(v)
    expect(change((c) => ((c.files["stages/b.ts"] as { hash: string }).hash = "b2"))).toBe(v)
    expect(() => codeVersion(fp, "a", [])).toThrow(/stages\/a\.ts \(stage a\) imports @conceptscope\/probes, which the stage's table entry does not list/)
  })
})

describe("Nx targets inferred from the table", () => {
  const show = (config: string) => {
    const r = spawnSync(process.execPath, [path.join(ROOT, "node_modules/.bin/nx"), "show", "project", "pipeline", "--json"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, CONCEPTSCOPE_CONFIG: config, NX_DAEMON: "false", NX_NO_CLOUD: "true" }
    })
    expect(r.status, r.stderr).toBe(0)
    return JSON.parse(r.stdout) as { targets: Record<string, { outputs: string[]; inputs: unknown[]; dependsOn: string[]; options: { command: string } }> }
  }

  it("lists one target per stage plus sweep and build, with outputs under the config's own store", () => {
    const quick = show("quick")
    const emergence = show("emergence")
    const stages = EXPERIMENTS.synthetic.entries.map((e) => e.name)
    expect(Object.keys(quick.targets)).toEqual(expect.arrayContaining([...stages, "sweep", "build"]))
    for (const s of stages) {
      expect(quick.targets[s].outputs[0]).toBe(`{workspaceRoot}/.conceptscope/store/quick/${s}`)
      expect(emergence.targets[s].outputs[0]).toBe(`{workspaceRoot}/.conceptscope/store/emergence/${s}`)
      expect(quick.targets[s].options.command).toBe(`node apps/pipeline/bin/conceptscope.mjs sweep --until ${s}`)
    }
    expect(quick.targets.sweep.outputs).toEqual(["{workspaceRoot}/.conceptscope/reports/quick"])
    expect(emergence.targets.sweep.outputs).toEqual(["{workspaceRoot}/.conceptscope/reports/emergence"])
    expect(quick.targets.train.inputs).toContain("{workspaceRoot}/apps/pipeline/configs/quick.json")
    expect(emergence.targets.train.inputs).toContain("{workspaceRoot}/apps/pipeline/configs/emergence.json")
    // a stage's inputs cover the stages it needs: the report's include training's code, training's do not include the report's
    expect(quick.targets.report.inputs).toContain("{workspaceRoot}/apps/pipeline/src/stages/train.ts")
    expect(quick.targets.train.inputs).not.toContain("{workspaceRoot}/apps/pipeline/src/stages/report.ts")
    expect(quick.targets.train.inputs).not.toContain("{workspaceRoot}/packages/reporters/src/**/*")
    expect(quick.targets.embed.dependsOn).toEqual(["build", "extract", "probe", "train", "evaluate"])
  })
})
