import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { ArtifactStoreLive, defineStage, NoMeta, runStage, StageError, type ArtifactRef } from "../src/index.js"
import { canonicalJson } from "../src/canonical.js"
import { makeArtifactStore } from "../src/store.js"

const tmpRoot = () => fs.mkdtempSync(path.join(os.tmpdir(), "cs-store-"))

let runs = 0
const Params = Schema.Struct({
  n: Schema.Int.pipe(Schema.positive()),
  scale: Schema.optionalWith(Schema.Number, { default: () => 1 })
})
const numbers = defineStage({
  name: "numbers",
  version: "1",
  schemaVersion: 1,
  params: Params,
  meta: Schema.Struct({ n: Schema.Int }),
  run: ({ params, dir }) =>
    Effect.sync(() => {
      runs++
      fs.writeFileSync(path.join(dir, "data.json"), JSON.stringify(Array.from({ length: params.n }, (_, i) => i * params.scale)))
      return { rowCount: params.n, meta: { n: params.n } }
    })
})
const summed = defineStage({
  name: "summed",
  version: "1",
  schemaVersion: 1,
  params: Schema.Struct({}),
  meta: NoMeta,
  run: ({ inputs, dir }: { inputs: { numbers: ArtifactRef }; dir: string }) =>
    Effect.sync(() => {
      const xs = JSON.parse(fs.readFileSync(path.join(inputs.numbers.dir, "data.json"), "utf8")) as number[]
      fs.writeFileSync(path.join(dir, "sum.json"), JSON.stringify(xs.reduce((a, b) => a + b, 0)))
      return { rowCount: 1, meta: {} }
    })
})

const run = <A, E>(root: string, eff: Effect.Effect<A, E, any>) =>
  Effect.runPromise(eff.pipe(Effect.provide(ArtifactStoreLive(root))) as Effect.Effect<A, E, never>)

describe("canonical JSON", () => {
  it("ignores key order and undefined, keeps array order", () => {
    expect(canonicalJson({ b: 1, a: [2, 1], c: undefined })).toBe(canonicalJson({ a: [2, 1], b: 1 }))
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }))
    expect(() => canonicalJson({ a: NaN })).toThrow(/a: non-finite/)
  })
})

describe("stages and the store", () => {
  it("computes on a miss, hits the cache on the same params, and fills defaults before hashing", async () => {
    const root = tmpRoot()
    runs = 0
    const a = await run(root, runStage(numbers, { n: 3 }, {}))
    const b = await run(root, runStage(numbers, { n: 3, scale: 1 }, {}))
    expect(a.cached).toBe(false)
    expect(b.cached).toBe(true)
    expect(b.ref.key).toBe(a.ref.key)
    expect(runs).toBe(1)
    const m = JSON.parse(fs.readFileSync(path.join(a.ref.dir, "manifest.json"), "utf8"))
    expect(m).toMatchObject({ kind: "numbers", key: a.ref.key, stage: { name: "numbers", version: "1" }, params: { n: 3, scale: 1 }, rowCount: 3 })
    expect(m.files).toEqual([{ path: "data.json", size: fs.statSync(path.join(a.ref.dir, "data.json")).size, xxh64: expect.stringMatching(/^[0-9a-f]{16}$/) }])
  })

  it("returns the body's typed meta, and the same meta decoded from the manifest on a cache hit", async () => {
    const root = tmpRoot()
    const a = await run(root, runStage(numbers, { n: 5 }, {}))
    const b = await run(root, runStage(numbers, { n: 5 }, {}))
    expect(a.meta).toEqual({ n: 5 })
    expect(b.cached).toBe(true)
    expect(b.meta).toEqual({ n: 5 })
  })

  it("an exception thrown inside a body is a typed StageError naming the stage, and nothing is committed", async () => {
    const root = tmpRoot()
    const throwing = defineStage({
      ...numbers,
      name: "throwing",
      run: () =>
        Effect.sync(() => {
          throw new Error("no such checkpoint\nsecond line")
        })
    })
    const err = await Effect.runPromise(runStage(throwing, { n: 1 }, {}).pipe(Effect.flip, Effect.provide(ArtifactStoreLive(root))))
    expect(err._tag).toBe("StageError")
    expect(err.message).toBe("stage throwing: no such checkpoint")
    expect(await Effect.runPromise(makeArtifactStore(root).list())).toEqual([])
  })

  it("invalidates on a parameter change, a version change and an input change", async () => {
    const root = tmpRoot()
    const a = await run(root, runStage(numbers, { n: 3 }, {}))
    const b = await run(root, runStage(numbers, { n: 4 }, {}))
    const v2 = await run(root, runStage({ ...numbers, version: "2" }, { n: 3 }, {}))
    expect(new Set([a.ref.key, b.ref.key, v2.ref.key]).size).toBe(3)
    const s1 = await run(root, runStage(summed, {}, { numbers: a.ref }))
    const s2 = await run(root, runStage(summed, {}, { numbers: b.ref }))
    const s1again = await run(root, runStage(summed, {}, { numbers: a.ref }))
    expect(s1.ref.key).not.toBe(s2.ref.key)
    expect(s1again.cached).toBe(true)
    expect(JSON.parse(fs.readFileSync(path.join(s2.ref.dir, "sum.json"), "utf8"))).toBe(6)
  })

  it("rejects bad parameters with the field named and leaves the store untouched", async () => {
    const root = tmpRoot()
    const err = await Effect.runPromise(
      runStage(numbers, { n: -2 }, {}, "configs/x.json").pipe(Effect.flip, Effect.provide(ArtifactStoreLive(root)))
    )
    expect(String(err.message)).toMatch(/^configs\/x\.json: n: /)
    const err2 = await Effect.runPromise(
      runStage(numbers, { n: 2, bogus: 1 }, {}, "configs/x.json").pipe(Effect.flip, Effect.provide(ArtifactStoreLive(root)))
    )
    expect(String(err2.message)).toMatch(/bogus/)
    expect(fs.existsSync(root) ? fs.readdirSync(root).filter((d) => d !== ".staging") : []).toEqual([])
  })

  it("a failing stage commits nothing and leaves no staging directory", async () => {
    const root = tmpRoot()
    const failing = defineStage({
      ...numbers,
      name: "failing",
      run: ({ dir }) =>
        Effect.gen(function* () {
          fs.writeFileSync(path.join(dir, "half.json"), "[1,")
          return yield* Effect.fail(new StageError({ stage: "failing", reason: "boom" }))
        })
    })
    const exit = await Effect.runPromiseExit(runStage(failing, { n: 1 }, {}).pipe(Effect.provide(ArtifactStoreLive(root))))
    expect(exit._tag).toBe("Failure")
    const store = makeArtifactStore(root)
    expect(await Effect.runPromise(store.list())).toEqual([])
    const staging = path.join(root, ".staging")
    expect(fs.existsSync(staging) ? fs.readdirSync(staging) : []).toEqual([])
  })
})
