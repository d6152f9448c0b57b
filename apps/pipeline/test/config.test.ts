import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { configDir, configPath, loadConfig, resolvePosition, type SyntheticConfig } from "../src/index.js"
import { readSuite } from "../src/config/suite.js"
import { tinyConfig, tmp, writeConfig } from "./helpers.js"

const fail = (file: string, sets: string[] = []) => Effect.runPromise(Effect.flip(loadConfig(file, sets))).then((e) => e.message)
const load = async (file: string, sets: string[] = []) => (await Effect.runPromise(loadConfig(file, sets))).config as SyntheticConfig

describe("configs", () => {
  it("ships presets that validate (a suite: every member)", async () => {
    for (const f of fs.readdirSync(configDir()).filter((f) => f.endsWith(".json"))) {
      const suite = readSuite(path.join(configDir(), f))
      if (suite) {
        expect(suite.members.length).toBeGreaterThan(0)
        for (const m of suite.members) expect((await load(configPath(m))).name).toBe(path.basename(m))
        expect(await fail(path.join(configDir(), f))).toMatch(/default\.json: suite: this file is a suite of configs/)
      } else expect((await load(path.join(configDir(), f))).name).toBe(f.replace(/\.json$/, ""))
    }
  })

  it("names the file, the field and the reason for bad values", async () => {
    const dir = tmp("cs-cfg-")
    const bad = (patch: Record<string, unknown>) => writeConfig(dir, { ...tinyConfig(), ...patch }, `bad-${Object.keys(patch)[0]}.json`)
    expect(await fail(bad({ train: { ...tinyConfig().train, steps: -3 } }))).toMatch(/bad-train\.json: train\.steps: .*positive/)
    expect(await fail(bad({ model: { nLayers: 2, dModel: 16, nHeads: "two" } }))).toMatch(/model\.nHeads: .*number/)
    expect(await fail(bad({ seeds: [] }))).toMatch(/seeds/)
    expect(await fail(bad({ bogus: 1 }))).toMatch(/bogus/)
    expect(await fail(bad({ experiment: "llm-someday" }))).toMatch(/bad-experiment\.json: experiment: "llm-someday" is not an experiment \(synthetic, llm\)/)
    expect(await fail(bad({ name: ".." }))).toMatch(/bad-name\.json: name: /)
    const rankTooBig = { ...tinyConfig().task, rank: 3 }
    expect(await fail(bad({ task: rankTooBig }))).toMatch(/bad-task\.json: task/)
    const sched = (lrSchedule: unknown) => writeConfig(dir, { ...tinyConfig(), train: { ...tinyConfig().train, lrSchedule } }, "bad-sched.json")
    expect(await fail(sched({ decay: "exponential" }))).toMatch(/bad-sched\.json: train\.lrSchedule\.decay/)
    expect(await fail(sched({ decay: "cosine", finalFactor: 1.5 }))).toMatch(/train\.lrSchedule\.finalFactor/)
    expect(await fail(sched({ decay: "cosine", warmupSteps: 10_000 }))).toMatch(/train\.lrSchedule\.warmupSteps: 10000 is not below train\.steps/)
  })

  it("checks every constraint between fields before any work, naming the field at fault", async () => {
    const file = writeConfig(tmp("cs-cfg-"), tinyConfig())
    const cases: [string[], RegExp][] = [
      [["probe.reportLayer=2"], /tiny\.json: probe\.reportLayer: 2 is not a layer of a 2-layer model/],
      [["patching.layer=1", "patching.positions=\"y-tokens\""], /tiny\.json: patching\.layer: 1 is the last layer: no later layer reads its y-token outputs/],
      [["patching.layer=5"], /patching\.layer: 5 is not a layer/],
      [["probe.k=1000"], /probe\.k: 1000 neighbours need more than the 23 other points/],
      [["probe.reportPosition=3", "probe.positions=[\"last-y\"]"], /probe\.reportPosition: token 3 is not among probe\.positions/],
      [["probe.positions=[8]"], /probe\.positions\.0: 8 is outside the 8 tokens of 4 examples/],
      [["patching.positions=[-9]"], /patching\.positions\.0: -9 is outside/],
      [["eval.sequences=41"], /eval\.sequences: 41 is not a multiple of task\.nBases \(2\)/],
      [["patching.perConcept=21"], /patching\.perConcept: 21 exceeds the 20 held-out sequences of each basis/],
      [["model.dModel=15"], /model\.dModel: 15 is not divisible by model\.nHeads \(2\)/],
      [["model.yChannel=99", "model.tokenFormat=\"y-scalar\""], /model\.yChannel: 99 is not an input channel \(0\.\.task\.dim = \d+\)/],
      [["model.yChannel=1", "model.tokenFormat=\"xy-pair\""], /model\.yChannel: is for "y-scalar" tokens/],
      [["probe.reportLayer=1"], /probe\.reportLayer: 1 is the last layer: nothing reads its output at a y token/],
      [["probe.positions=[\"last-y\"]"], /probe\.positions: the query token \(last-x, token 6\) must be among them/],
      [["probe.selectionFraction=0.1"], /probe\.selectionFraction: a split of 1 sequences per concept is too small for probe\.k = 5/],
      [["task.families=[\"linear\",\"quadratic\"]", "task.layout=overlapping"], /task\.layout: regression families have no basis layout/],
      [["task.families=[\"linear\"]"], /task\.families: 1 families but nBases = 2/],
      [["task.families=[\"linear\",\"quadratic\"]", "train.curriculum={\"startDims\":2,\"addDims\":1,\"everySteps\":10}"], /train\.curriculum: a curriculum over dimensions needs a linear task/]
    ]
    for (const [sets, re] of cases) expect(await fail(file, sets), sets.join(" ")).toMatch(re)
    // a y-token patch of the last layer is fine when other positions are patched
    expect((await load(file, ["patching.layer=1", "patching.positions=\"all\""])).patching.layer).toBe(1)
  })

  it("fills every result-changing default, so it lands in the stages' parameters", async () => {
    const config = await load(writeConfig(tmp("cs-cfg-"), tinyConfig()))
    expect(config.train.lrSchedule).toEqual({ decay: "constant", warmupSteps: 0, finalFactor: 1 })
    expect(config.curves).toEqual({ ridge: 0.1, lassoAlpha: 0.01 })
    expect(config.compute).toEqual({ batchSize: 256 })
    expect(config.eval.seedOffset).toBe(1)
    expect(config.probe.seedOffset).toBe(2)
    expect(config.criteria).toEqual({ maxFinalNmse: 0.1, maxTdFirstAboveChance: 0.15, minTdFinal: 0.9, minPatchingRatio: 2, maxCouplingPValue: 0.05, couplingSurrogates: 999 })
    expect(config.twoCluster).toEqual({ learnedFactor: 3, minLossRatio: 2 })
    expect(config.probe.selectionFraction).toBe(0.5)
    expect(config.patching).toMatchObject({ layer: "report", mode: "subspace", positions: "query" })
    const c2 = await load(writeConfig(tmp("cs-cfg-"), tinyConfig(), "c2.json"), ["train.lrSchedule={\"decay\":\"cosine\"}"])
    expect(c2.train.lrSchedule).toEqual({ decay: "cosine", warmupSteps: 0, finalFactor: 0.1 })
  })

  it("reports missing files and broken JSON in one line", async () => {
    const dir = tmp("cs-cfg-")
    expect(await fail(path.join(dir, "nope.json"))).toMatch(/nope\.json: \(file\): no such file/)
    const broken = path.join(dir, "broken.json")
    fs.writeFileSync(broken, "{ \"name\": ")
    expect(await fail(broken)).toMatch(/broken\.json: \(json\): /)
  })

  it("applies --set overrides before validation and refuses keys that reach a prototype", async () => {
    const file = writeConfig(tmp("cs-cfg-"), tinyConfig())
    const config = await load(file, ["train.steps=7", "probe.metric=cosine", "seeds=[1,2]"])
    expect(config.train.steps).toBe(7)
    expect(config.probe.metric).toBe("cosine")
    expect(config.seeds).toEqual([1, 2])
    expect(await fail(file, ["train.steps=zero"])).toMatch(/train\.steps/)
    expect(await fail(file, ["__proto__.x=1"])).toMatch(/^--set: __proto__\.x: not a config field/)
    expect(await fail(file, ["train.constructor.prototype.x=1"])).toMatch(/not a config field/)
    expect(({} as Record<string, unknown>).x).toBeUndefined()
  })

  it("resolves named positions", () => {
    expect(resolvePosition("last-x", 6)).toBe(10)
    expect(resolvePosition("last-y", 6)).toBe(11)
    expect(resolvePosition(-1, 6)).toBe(11)
  })
})
