import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { initBackend } from "@conceptscope/model-runners"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { benchActivationStore } from "../src/bench/activation-store.js"
import { benchTD } from "../src/bench/td.js"
import { benchTrainStep } from "../src/bench/train-step.js"

const root = mkdtempSync(join(tmpdir(), "cs-bench-test-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
beforeAll(async () => {
  await initBackend("wasm")
})

describe("bench helpers", () => {
  it("benchActivationStore: write and read throughput, store removed afterwards", async () => {
    const res = await benchActivationStore({ rows: 300, dModel: 512, dir: join(root, "store"), layers: 2, reps: 2 })
    expect(res.writeMBs).toBeGreaterThan(0)
    expect(res.readMBs).toBeGreaterThan(0)
    expect(readdirSync(join(root, "store"))).toEqual([]) // cleaned up
  })

  it("benchTD: 700 x 4096 runs and reports milliseconds", () => {
    const ms = benchTD()
    console.log(`benchTD(700, 4096) = ${ms.toFixed(0)} ms`)
    expect(ms).toBeGreaterThan(0)
    expect(ms).toBeLessThan(15000) // a smoke bound: the target is 500 ms on an idle core; CI cores are shared
  })

  it("benchTrainStep: a tiny model's step time on the active backend", async () => {
    const config = { nLayers: 1, dModel: 16, nHeads: 2, tokenFormat: "xy-pair" as const, xDim: 4, maxExamples: 4, seed: 0 }
    const r = await benchTrainStep(config, 8, 2)
    expect(r.msPerStep).toBeGreaterThan(0)
    expect(r.backend).toBe("wasm")
  })
})
