import { ArtifactStoreLive } from "@conceptscope/artifacts"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { InProcessExecutor, loadConfig, sweep, TensorBackendLive } from "../src/index.js"
import { storeListing, tinyConfig, tmp, writeConfig } from "./helpers.js"

const runSweep = async (file: string, store: string, out: string, sets: string[] = []) => {
  const loaded = await Effect.runPromise(loadConfig(file, sets))
  const layers = Layer.mergeAll(ArtifactStoreLive(store), TensorBackendLive("wasm"), InProcessExecutor(1))
  return Effect.runPromise(sweep({ loaded, outDir: out }).pipe(Effect.provide(layers)))
}

const STAGES = ["curves", "embed", "evalset", "evaluate", "extract", "patch", "probe", "probeset", "report", "train"]

describe("sweep end to end (tiny config)", () => {
  const dir = tmp("cs-sweep-")
  const file = writeConfig(dir, tinyConfig())
  const store = path.join(dir, "store")
  const out = path.join(dir, "reports")

  it("runs every stage, writes the report, and a rerun is all cache hits", async () => {
    const first = await runSweep(file, store, out)
    const cell = first.cells[0]
    const stages = Object.keys(cell.results).sort()
    expect(stages).toEqual(STAGES)
    expect(Object.values(cell.results).every((r) => !r!.cached)).toBe(true)
    const reportDir = path.join(out, "tiny", "seed-3")
    for (const f of ["report.html", "summary.json", "summary.md", "figures/loss_td.png", "figures/patching.svg"])
      expect(fs.existsSync(path.join(reportDir, f)), f).toBe(true)
    const summary = JSON.parse(fs.readFileSync(path.join(reportDir, "summary.json"), "utf8"))
    expect(summary.finalNmsePerConcept).toHaveLength(2)
    expect(summary.backend).toBe("wasm")
    expect(Object.keys(summary.artifactKeys).sort()).toEqual(STAGES.filter((s) => s !== "report"))
    // Checkpoints: step 0 and the last step are always kept.
    const ck = JSON.parse(fs.readFileSync(path.join(cell.results.train!.ref.dir, "checkpoints.json"), "utf8")) as { step: number }[]
    expect(ck[0].step).toBe(0)
    expect(ck[ck.length - 1].step).toBe(30)
    const before = storeListing(store)
    const second = await runSweep(file, store, out)
    expect(Object.values(second.cells[0].results).every((r) => r!.cached)).toBe(true)
    expect(storeListing(store)).toEqual(before)
  })

  it("two seeds: seeds.json and seeds.md put both cells' headline numbers side by side", async () => {
    const res = await runSweep(file, store, out, ["seeds=[3,4]"])
    expect(res.summary).toBe(path.join(out, "tiny", "seeds.md"))
    const agg = JSON.parse(fs.readFileSync(path.join(out, "tiny", "seeds.json"), "utf8"))
    expect(agg.seeds).toEqual([3, 4])
    const td = agg.metrics.find((m: { name: string }) => m.name === "TD final checkpoint")
    const perSeed = [3, 4].map((s) => JSON.parse(fs.readFileSync(path.join(out, "tiny", `seed-${s}`, "summary.json"), "utf8")).tdFinal)
    expect(td.values).toEqual(perSeed)
    expect(td.median).toBeCloseTo((perSeed[0] + perSeed[1]) / 2, 12)
    expect(agg.perSeed).toHaveLength(2)
    expect(fs.readFileSync(path.join(out, "tiny", "seeds.md"), "utf8")).toContain("| quantity | seed 3 | seed 4 | median | min | max |")
  })

  it("a changed patching parameter recomputes only the patching artifact", async () => {
    const again = await runSweep(file, store, out, ["patching.mode=mean-diff"])
    const r = again.cells[0].results
    const recomputed = Object.entries(r).filter(([, v]) => !v!.cached).map(([k]) => k)
    expect(recomputed).toEqual(["patch", "report"])
  })

  it("the training curves start near 1 (predicting 0) and the loss falls", async () => {
    const { readTrainingCurves } = await import("../src/index.js")
    const again = await runSweep(file, store, out)
    const curves = await Effect.runPromise(readTrainingCurves(again.cells[0].results.evaluate!.ref))
    const mean = (step: number) => {
      const xs = curves.filter((c) => c.step === step && c.k >= 1)
      return xs.reduce((a, c) => a + c.nmse, 0) / xs.length
    }
    expect(mean(0)).toBeGreaterThan(0.5)
    expect(mean(30)).toBeLessThan(mean(0))
  })
})
