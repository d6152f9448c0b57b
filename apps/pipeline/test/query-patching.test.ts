import { RegressionTransformer } from "@conceptscope/model-runners"
import { sampleSequences } from "@conceptscope/task-generators"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cellTask } from "../src/index.js"
import { patchModel } from "../src/stages/patch.js"
import { selectBasis } from "../src/stages/shared/datasets.js"
import { ROOT } from "./helpers.js"
import fixtureConfig from "./fixtures/query-patch/config.json" with { type: "json" }

/**
 * Query-token patching on a trained tiny model (fixtures/query-patch: 2 bases in D = 4, K = 5, one fixed
 * w per basis, 3 layers x 32, trained 4,000 steps by the pipeline; held-out query TD 0.96 at layer 1,
 * query NMSE 0.01). The data are drawn exactly as the pipeline draws them for that cell (seed 1).
 */
describe("query-token patching on a trained tiny model", () => {
  let model: RegressionTransformer
  const seed = 1
  const task = cellTask(fixtureConfig.task as never, seed)
  const K = task.nExamples
  const probe = sampleSequences(task, { n: 50 * task.nBases, seed: seed * 1000 + 2, basisBalanced: true })
  const evalSet = sampleSequences(task, { n: 200, seed: seed * 1000 + 1, basisBalanced: true })
  const sources = [0, 1].map((s) => selectBasis(evalSet, s, 100))
  const run = (mode: "subspace" | "replace" | "mean-diff") =>
    patchModel(model, probe, sources, { layers: [1], mode, positions: [2 * K - 2], scoring: "query", nConcepts: 2 })
  const stats = (rows: Awaited<ReturnType<typeof run>>) => {
    const mean = (f: (r: (typeof rows)[number]) => boolean) => {
      const v = rows.filter(f).map((r) => r.nmse)
      return v.reduce((a, b) => a + b, 0) / v.length
    }
    return { base: mean((r) => r.target < 0), self: mean((r) => r.target === r.source), off: mean((r) => r.target >= 0 && r.target !== r.source) }
  }

  const results: Record<string, ReturnType<typeof stats>> = {}
  beforeAll(async () => {
    model = await RegressionTransformer.load(path.join(ROOT, "apps/pipeline/test/fixtures/query-patch/model.safetensors"))
    for (const mode of ["subspace", "replace", "mean-diff"] as const) results[mode] = stats(await run(mode))
  }, 120_000)
  afterAll(() => model?.dispose())

  it("the model predicts the query well unpatched", () => {
    expect(results.subspace.base).toBeLessThan(0.05)
  })

  it("subspace self-patching moves the query prediction by under a fifth of what another concept's mean does", () => {
    const { base, self, off } = results.subspace
    expect(off).toBeGreaterThan(5 * base)
    expect(self - base).toBeLessThan(0.2 * (off - base))
  })

  it("full replacement erases the query input: its self-patch hurts more than half as much as a cross patch", () => {
    const { base, self, off } = results.replace
    expect(self - base).toBeGreaterThan(0.5 * (off - base))
  })

  it("mean-diff self-patching is the identity; its cross patch hurts", () => {
    const { base, self, off } = results["mean-diff"]
    expect(self).toBeCloseTo(base, 6)
    expect(off).toBeGreaterThan(5 * base)
  })
})
