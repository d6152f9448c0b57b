import { ArtifactStoreLive, defineStage, readParquet, tableFromRecords, writeParquet } from "@conceptscope/artifacts"
import { Effect, Layer, Schema } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import {
  type AnyEntry,
  type Cell,
  defineExperiment,
  loadConfig,
  readTD,
  runCell,
  stageEntry,
  type StageEntry,
  stagesThrough,
  synthetic,
  type SyntheticConfig,
  TensorBackendLive
} from "../src/index.js"
import { storeListing, tinyConfig, tmp, writeConfig } from "./helpers.js"

/**
 * A throw-away experiment: the synthetic table plus one stage of its own, defined here and nowhere
 * else. It must run end to end through the store, with caching, without any other file changing.
 */
const tdByLayer = defineStage({
  name: "td-by-layer",
  version: "1",
  schemaVersion: 1,
  params: Schema.Struct({ position: Schema.Int }),
  meta: Schema.Struct({ bestLayer: Schema.Int }),
  run: ({ params, inputs, dir }: { params: { position: number }; inputs: { probe: import("@conceptscope/artifacts").ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      const td = (yield* readTD(inputs.probe)).filter((r) => r.position === params.position)
      const finalStep = Math.max(...td.map((r) => r.step))
      const rows = td.filter((r) => r.step === finalStep).map((r) => ({ layer: r.layer, td: r.td }))
      yield* writeParquet(path.join(dir, "td-by-layer.parquet"), tableFromRecords({ layer: "int32", td: "float64" }, rows))
      const best = rows.reduce((a, b) => (b.td > a.td ? b : a))
      return { rowCount: rows.length, meta: { bestLayer: best.layer } }
    })
})

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const probe = synthetic.entries.find((e) => e.name === "probe")! as StageEntry<SyntheticConfig, "probe", any, any>
const extra = stageEntry<SyntheticConfig>()({
  name: "td-by-layer",
  packages: ["artifacts"],
  upstream: [probe],
  params: ({ config }) => ({ position: 2 * config.task.nExamples - 1 }),
  load: async () => tdByLayer,
  source: fileURLToPath(import.meta.url)
})
const throwaway = defineExperiment<SyntheticConfig>({ ...synthetic, name: "throwaway", entries: [...synthetic.entries, extra] })

describe("an experiment is a table", () => {
  it("a table with one extra stage runs end to end through the store, and a rerun is all cache hits", async () => {
    const dir = tmp("cs-table-")
    const file = writeConfig(dir, tinyConfig())
    const { config } = await Effect.runPromise(loadConfig(file))
    const cell: Cell<SyntheticConfig> = { config: config as SyntheticConfig, seed: 3 }
    const layers = Layer.mergeAll(ArtifactStoreLive(path.join(dir, "store")), TensorBackendLive("wasm"))
    const run = () => Effect.runPromise(runCell(throwaway, cell, { until: "td-by-layer", file }).pipe(Effect.provide(layers)))
    expect(stagesThrough(throwaway, "td-by-layer")).toEqual(["probeset", "train", "extract", "probe", "td-by-layer"])
    const first = await run()
    expect(Object.keys(first.results)).toEqual(["probeset", "train", "extract", "probe", "td-by-layer"])
    expect(Object.values(first.results).every((r) => !r.cached)).toBe(true)
    // the extra stage's artifact holds what its body computed from the probe artifact
    const td = await Effect.runPromise(readTD(first.results.probe.ref))
    const final = td.filter((r) => r.position === 7 && r.step === Math.max(...td.map((x) => x.step)))
    const table = await Effect.runPromise(readParquet(path.join(first.results["td-by-layer"].ref.dir, "td-by-layer.parquet")))
    expect(Array.from(table.columns[1].data as Float64Array)).toEqual(final.map((r) => r.td))
    expect(first.results["td-by-layer"].meta).toEqual({ bestLayer: final.reduce((a, b) => (b.td > a.td ? b : a)).layer })
    expect(first.results["td-by-layer"].ref.manifest.inputs).toEqual({ probe: first.results.probe.ref.key })
    const listing = storeListing(path.join(dir, "store"))
    const second = await run()
    expect(Object.values(second.results).every((r) => r.cached)).toBe(true)
    expect(second.results["td-by-layer"].meta).toEqual(first.results["td-by-layer"].meta)
    expect(storeListing(path.join(dir, "store"))).toEqual(listing)
  })

  it("refuses a table whose upstream is not an earlier entry, or whose names repeat", () => {
    const late = { ...probe, name: "late", upstream: [extra] } as AnyEntry<SyntheticConfig>
    expect(() => defineExperiment({ ...synthetic, entries: [late, ...synthetic.entries, extra] })).toThrow(/stage "late" lists "td-by-layer" upstream, which is not an earlier entry/)
    expect(() => defineExperiment({ ...synthetic, entries: [...synthetic.entries, probe] })).toThrow(/two stages named "probe"/)
  })
})
