import { ArtifactStoreLive } from "@conceptscope/artifacts"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { type Cell, groupPairwise, loadConfig, readTD, runCell, synthetic, type SyntheticConfig, TensorBackendLive } from "../src/index.js"
import { tinyConfig, tmp, writeConfig } from "./helpers.js"

describe("overlapping bases", () => {
  it("the summary's group TD and within/across pairwise TD, at the final checkpoint and the untrained null, are the probe table's", async () => {
    const dir = tmp("cs-groups-")
    // two groups of 4 dims, two rank-3 bases per group sharing 2 coordinates ({0,1,2}, {2,3,0} and the same in 4-7)
    const task = { dim: 8, nBases: 4, rank: 3, layout: "overlapping", groups: 2, noiseVariance: 0.01, nExamples: 4, weightPool: { kind: "pool", size: 1, seed: 5 }, weightScale: 1 }
    const file = writeConfig(dir, tinyConfig({ task, eval: { sequences: 40 }, probe: { perConcept: 12, k: 5, positions: ["last-x"], reportPosition: "last-x" } }))
    const { config } = await Effect.runPromise(loadConfig(file))
    const cell: Cell<SyntheticConfig> = { config: config as SyntheticConfig, seed: 3 }
    const layers = Layer.mergeAll(ArtifactStoreLive(path.join(dir, "store")), TensorBackendLive("wasm"))
    const r = await Effect.runPromise(runCell(synthetic, cell, { until: "report", file }).pipe(Effect.provide(layers)))
    const summary = JSON.parse(fs.readFileSync(path.join(r.results.report.ref.dir, "summary.json"), "utf8"))
    const g = summary.td.groups
    const td = await Effect.runPromise(readTD(r.results.probe.ref))
    const at = (step: number) => td.find((t) => t.step === step && t.layer === summary.td.layer && t.position === summary.td.position)!
    const steps = [...new Set(td.map((t) => t.step))].sort((a, b) => a - b)
    const groups = [0, 0, 1, 1]
    for (const [got, row] of [[g, at(steps.at(-1)!)], [g.atFirst, at(steps[0])]] as const) {
      expect(got.groupTd).toBeCloseTo(row.groupTd, 12)
      const { withinPairwise, acrossPairwise } = groupPairwise(row.pairwise, groups)
      expect(got.withinPairwise).toBeCloseTo(withinPairwise, 12)
      expect(got.acrossPairwise).toBeCloseTo(acrossPairwise, 12)
    }
    expect(g.atFirst.step).toBe(0)
    // within = the mean of the pairs (0,1) and (2,3) of the final matrix, independently of groupPairwise
    const m = at(steps.at(-1)!).pairwise
    expect(g.withinPairwise).toBeCloseTo((m[0][1] + m[2][3]) / 2, 12)
    expect(g.acrossPairwise).toBeCloseTo((m[0][2] + m[0][3] + m[1][2] + m[1][3]) / 4, 12)
  }, 120_000)
})
