import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { CONFIG_DIR, loadConfig, resolvePosition } from "../src"
import { tinyConfig, tmp, writeConfig } from "./helpers"

const fail = (file: string, sets: string[] = []) => Effect.runPromise(Effect.flip(loadConfig(file, sets))).then((e) => e.message)

describe("configs", () => {
  it("ships presets that validate", async () => {
    for (const f of fs.readdirSync(CONFIG_DIR).filter((f) => f.endsWith(".json"))) {
      const { config } = await Effect.runPromise(loadConfig(path.join(CONFIG_DIR, f)))
      expect(config.name).toBe(f.replace(/\.json$/, ""))
    }
  })

  it("names the file, the field and the reason for bad values", async () => {
    const dir = tmp("cs-cfg-")
    const bad = (patch: Record<string, unknown>) => writeConfig(dir, { ...tinyConfig(), ...patch }, `bad-${Object.keys(patch)[0]}.json`)
    expect(await fail(bad({ train: { ...tinyConfig().train, steps: -3 } }))).toMatch(/bad-train\.json: train\.steps: .*positive/)
    expect(await fail(bad({ model: { nLayers: 2, dModel: 16, nHeads: "two" } }))).toMatch(/model\.nHeads: .*number/)
    expect(await fail(bad({ seeds: [] }))).toMatch(/seeds/)
    expect(await fail(bad({ bogus: 1 }))).toMatch(/bogus/)
    const rankTooBig = { ...tinyConfig().task, rank: 3 }
    expect(await fail(bad({ task: rankTooBig }))).toMatch(/bad-task\.json: task/)
    const sched = (lrSchedule: unknown) => writeConfig(dir, { ...tinyConfig(), train: { ...tinyConfig().train, lrSchedule } }, "bad-sched.json")
    expect(await fail(sched({ decay: "exponential" }))).toMatch(/bad-sched\.json: train\.lrSchedule\.decay/)
    expect(await fail(sched({ decay: "cosine", finalFactor: 1.5 }))).toMatch(/train\.lrSchedule\.finalFactor/)
    expect(await fail(sched({ decay: "cosine", warmupSteps: 10_000 }))).toMatch(/train\.lrSchedule\.warmupSteps: 10000 is not below train\.steps/)
  })

  it("defaults the learning rate to constant and fills a partial schedule", async () => {
    const dir = tmp("cs-cfg-")
    const { config } = await Effect.runPromise(loadConfig(writeConfig(dir, tinyConfig())))
    expect(config.train.lrSchedule).toEqual({ decay: "constant", warmupSteps: 0, finalFactor: 1 })
    const c2 = await Effect.runPromise(loadConfig(writeConfig(dir, tinyConfig(), "c2.json"), ["train.lrSchedule={\"decay\":\"cosine\"}"]))
    expect(c2.config.train.lrSchedule).toEqual({ decay: "cosine", warmupSteps: 0, finalFactor: 0.1 })
  })

  it("reports missing files and broken JSON in one line", async () => {
    const dir = tmp("cs-cfg-")
    expect(await fail(path.join(dir, "nope.json"))).toMatch(/nope\.json: \(file\): no such file/)
    const broken = path.join(dir, "broken.json")
    fs.writeFileSync(broken, "{ \"name\": ")
    expect(await fail(broken)).toMatch(/broken\.json: \(json\): /)
  })

  it("applies --set overrides before validation", async () => {
    const dir = tmp("cs-cfg-")
    const file = writeConfig(dir, tinyConfig())
    const { config } = await Effect.runPromise(loadConfig(file, ["train.steps=7", "probe.metric=cosine", "seeds=[1,2]"]))
    expect(config.train.steps).toBe(7)
    expect(config.probe.metric).toBe("cosine")
    expect(config.seeds).toEqual([1, 2])
    expect(await fail(file, ["train.steps=zero"])).toMatch(/train\.steps/)
  })

  it("resolves named positions", () => {
    expect(resolvePosition("last-x", 6)).toBe(10)
    expect(resolvePosition("last-y", 6)).toBe(11)
    expect(resolvePosition(-1, 6)).toBe(11)
    expect(() => resolvePosition(12, 6)).toThrow(/outside/)
  })
})
