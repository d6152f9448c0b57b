import { ArtifactStoreLive, readParquetFile, recordsFromTable } from "@conceptscope/artifacts"
import { RegressionTransformer } from "@conceptscope/model-runners"
import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { TD_FINAL } from "@conceptscope/reporters"
import { cellTask, InProcessExecutor, loadConfig, sweep, TensorBackendLive } from "../src/index.js"
import { readDataset, selectBasis } from "../src/stages/shared/datasets.js"
import { storeListing, tinyConfig, tmp, writeConfig } from "./helpers.js"

const runSweep = async (file: string, store: string, out: string, sets: string[] = []) => {
  const loaded = await Effect.runPromise(loadConfig(file, sets))
  const layers = Layer.mergeAll(ArtifactStoreLive(store), TensorBackendLive("wasm"), InProcessExecutor(1))
  return Effect.runPromise(sweep({ loaded, outDir: out }).pipe(Effect.provide(layers)))
}

const STAGES = ["curves", "embed", "evalset", "evaluate", "extract", "heads", "patch", "probe", "probeset", "report", "train"]

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
    // the headline keys every run carries
    for (const key of ["td.queryToken.first", "td.queryToken.final", "td.layer", "td.layerChosenOn", "patching.queryToken.offDiagonalOverBaseline", "patching.queryToken.selfOverBaseline", "patching.checkpoints", "nmse.model", "nmse.leastSquares", "nmse.bayesOptimal"])
      expect(key.split(".").reduce((o, k) => (o as Record<string, unknown>)[k], summary as unknown), key).toBeDefined()
    expect(summary.td.layerChosenOn).toBe("selection split")
    expect(summary.coupling.perBasis).toHaveLength(2)
    for (const b of summary.coupling.perBasis) expect(Object.keys(b)).toEqual(expect.arrayContaining(["lossHalfStep", "tdHalfStep", "lagSteps", "pValue"]))
    // Checkpoints: step 0 and the last step are always kept.
    const ck = JSON.parse(fs.readFileSync(path.join(cell.results.train!.ref.dir, "checkpoints.json"), "utf8")) as { step: number }[]
    expect(ck[0].step).toBe(0)
    expect(ck[ck.length - 1].step).toBe(30)
    const before = storeListing(store)
    const second = await runSweep(file, store, out)
    expect(Object.values(second.cells[0].results).every((r) => r!.cached)).toBe(true)
    expect(storeListing(store)).toEqual(before)
  })

  it("head importance: ablating one head of the trained model by hand gives the stage's number", async () => {
    const cell = (await runSweep(file, store, out)).cells[0]
    const ck = JSON.parse(fs.readFileSync(path.join(cell.results.train!.ref.dir, "checkpoints.json"), "utf8")) as { step: number; file: string }[]
    const model = await RegressionTransformer.load(path.join(cell.results.train!.ref.dir, ck[ck.length - 1].file))
    const evalSet = await Effect.runPromise(readDataset(cell.results.evalset!.ref))
    const rows = recordsFromTable(await readParquetFile(path.join(cell.results.heads!.ref.dir, "heads.parquet")))
    for (const basis of [0, 1]) {
      const b = selectBasis(evalSet, basis, 100)
      const preds = tf.tidy(() => model.forward(tf.tensor3d(b.xs, [b.n, b.K, b.D]), tf.tensor2d(b.ys, [b.n, b.K]), { interventions: [{ hook: "blocks.1.hook_attn_out", positions: "all", op: "zero", head: 0 }] }).preds.dataSync())
      // the query prediction's NMSE, by hand
      let se = 0
      let yy = 0
      for (let i = 0; i < b.n; i++) {
        const y = b.ys[i * b.K + b.K - 1]
        se += (preds[i * b.K + b.K - 1] - y) ** 2
        yy += y * y
      }
      const row = rows.find((r) => r.layer === 1 && r.head === 0 && r.ablation === "zero" && r.label === `B${basis + 1}`)!
      expect(row.nmse as number).toBeCloseTo(se / yy, 6)
    }
    model.dispose()
    const summary = JSON.parse(fs.readFileSync(path.join(out, "tiny", "seed-3", "summary.json"), "utf8"))
    expect(summary.heads.synthetic.modes.map((m: { ablation: string }) => m.ablation)).toEqual(["zero", "mean"])
    expect(summary.heads.synthetic.modes[0].perConcept[0].lossChange).toHaveLength(2) // [layer][head]
    expect(fs.existsSync(path.join(out, "tiny", "seed-3", "figures", "heads.png"))).toBe(true)
  })

  it("two seeds: seeds.json and seeds.md put both cells' headline numbers side by side", async () => {
    const res = await runSweep(file, store, out, ["seeds=[3,4]"])
    expect(res.summary).toBe(path.join(out, "tiny", "seeds.md"))
    const agg = JSON.parse(fs.readFileSync(path.join(out, "tiny", "seeds.json"), "utf8"))
    expect(agg.seeds).toEqual([3, 4])
    const td = agg.metrics.find((m: { name: string }) => m.name === TD_FINAL)
    const perSeed = [3, 4].map((s) => JSON.parse(fs.readFileSync(path.join(out, "tiny", `seed-${s}`, "summary.json"), "utf8")).td.queryToken.final)
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

  it("a weight-pool grid: reports per grid point, seeds tables per point, the diversity table and figure", async () => {
    const grid = writeConfig(dir, tinyConfig({ name: "grid", seeds: [3], grid: { weightPools: [{ kind: "pool", size: 1 }, { kind: "fresh" }] } }), "grid.json")
    const res = await runSweep(grid, store, out)
    expect(res.cells.map((c) => c.label)).toEqual(["M1", "fresh"])
    for (const f of ["M1/seed-3/summary.json", "fresh/seed-3/report.html", "M1/seeds.md", "fresh/seeds.json", "diversity.md", "diversity.json", "diversity.svg", "diversity.png"])
      expect(fs.existsSync(path.join(out, "grid", f)), f).toBe(true)
    const points = JSON.parse(fs.readFileSync(path.join(out, "grid", "diversity.json"), "utf8")) as { pool: string }[]
    expect(points.map((p) => p.pool)).toEqual(["M1", "fresh"])
  })

  it("a pool without a seed is drawn from the cell's seed, so seeds redraw the functions; a fixed seed stays", () => {
    const task = { ...tinyConfig().task, weightPool: { kind: "pool" as const, size: 1 } } as Parameters<typeof cellTask>[0]
    expect(cellTask(task, 3).weightPool).toMatchObject({ seed: 3007 })
    expect(cellTask(task, 4).weightPool).toMatchObject({ seed: 4007 })
    const fixed = { ...task, weightPool: { kind: "pool" as const, size: 1, seed: 5 } }
    expect(cellTask(fixed, 4).weightPool).toMatchObject({ seed: 5 })
  })

  it("a mixture of regression families runs end to end, concepts named by family, without basis references", async () => {
    const fam = writeConfig(
      dir,
      tinyConfig({ name: "families", task: { ...tinyConfig().task, nBases: 2, families: ["linear", "quadratic"] } }),
      "families.json"
    )
    await runSweep(fam, store, out)
    const summary = JSON.parse(fs.readFileSync(path.join(out, "families", "seed-3", "summary.json"), "utf8"))
    expect(summary.concepts).toEqual(["linear", "quadratic"])
    expect(summary.nmse.bayesOptimal).toBe("NaN")
    expect(Number.isFinite(summary.nmse.leastSquares)).toBe(true)
  })
})
