import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { afterAll, describe, expect, it } from "vitest"
import { ActivationReader, ActivationStoreError, ActivationWriter, type ActivationBatch } from "../src/index.js"

const root = mkdtempSync(join(tmpdir(), "activation-store-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let dirCount = 0
const freshDir = () => join(root, `s${dirCount++}`)

/** Seeded xorshift32 in [0, 1): test data only. */
const seeded = (seed: number) => {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 2 ** 32
  }
}

interface Row {
  position: number
  seqId: number
  concept: number
  vector: number[]
}

/** Random batches over checkpoints x layers, plus the expected rows per (checkpoint, layer) in write order. */
function makeBatches(dModel: number, seed: number) {
  const u = seeded(seed)
  const expected = new Map<string, Row[]>()
  const batches: ActivationBatch[] = []
  let seq = 0
  for (let round = 0; round < 6; round++)
    for (const checkpoint of [0, 500])
      for (const layer of [-1, 0, 2]) {
        const n = 1 + Math.floor(u() * 40)
        const b: ActivationBatch = {
          checkpoint,
          layer,
          positions: Int32Array.from({ length: n }, () => Math.floor(u() * 12)),
          seqIds: Int32Array.from({ length: n }, () => seq++),
          concepts: Int32Array.from({ length: n }, () => Math.floor(u() * 5)),
          vectors: Float32Array.from({ length: n * dModel }, () => u() * 4 - 2)
        }
        batches.push(b)
        const rows = expected.get(`${checkpoint}/${layer}`) ?? []
        for (let i = 0; i < n; i++)
          rows.push({
            position: b.positions[i],
            seqId: b.seqIds[i],
            concept: b.concepts[i],
            vector: Array.from(b.vectors.subarray(i * dModel, (i + 1) * dModel))
          })
        expected.set(`${checkpoint}/${layer}`, rows)
      }
  return { batches, expected }
}

const rowsOf = (s: { n: number; dModel: number; positions: Int32Array; seqIds: Int32Array; concepts: Int32Array; vectors: Float32Array }): Row[] =>
  Array.from({ length: s.n }, (_, i) => ({
    position: s.positions[i],
    seqId: s.seqIds[i],
    concept: s.concepts[i],
    vector: Array.from(s.vectors.subarray(i * s.dModel, (i + 1) * s.dModel))
  }))

describe("activation store", () => {
  const dModel = 24

  it("round-trips every (checkpoint, layer) with position and concept filters, over split shards", async () => {
    const dir = freshDir()
    const { batches, expected } = makeBatches(dModel, 1)
    const w = await ActivationWriter.open(dir, { dModel, shardRows: 50 })
    for (const b of batches) await w.write(b)
    const index = await w.close()
    expect(index.rows).toBe([...expected.values()].reduce((s, r) => s + r.length, 0))
    expect(JSON.parse(readFileSync(join(dir, "index.json"), "utf8"))).toEqual(index)
    expect(readdirSync(dir).filter((f) => f.endsWith(".parquet")).sort()).toEqual(index.shards.map((s) => s.file).sort())
    for (const s of index.shards) {
      expect(s.rows).toBeGreaterThan(0)
      expect(s.rows).toBeLessThanOrEqual(50)
      expect(s.hook).toBe(s.layer === -1 ? "hook_embed" : `blocks.${s.layer}.hook_resid_post`)
      expect(s.file).toMatch(/^part-\d{5}\.parquet$/)
    }
    const r = await ActivationReader.open(dir)
    expect(r.checkpoints()).toEqual([0, 500])
    expect(r.layers()).toEqual([-1, 0, 2])
    for (const [key, rows] of expected) {
      const [checkpoint, layer] = key.split("/").map(Number)
      expect(index.shards.filter((s) => s.checkpoint === checkpoint && s.layer === layer).length).toBe(Math.ceil(rows.length / 50))
      const all = await r.read({ checkpoint, layer })
      expect(all.dModel).toBe(dModel)
      expect(rowsOf(all)).toEqual(rows.map((x) => ({ ...x, vector: x.vector.map(Math.fround) })))
      const positions = [0, 3, 7]
      const concepts = [1, 4]
      const byPos = await r.read({ checkpoint, layer, positions })
      expect(rowsOf(byPos)).toEqual(rowsOf(all).filter((x) => positions.includes(x.position)))
      const both = await r.read({ checkpoint, layer, positions, concepts })
      const want = rowsOf(all).filter((x) => positions.includes(x.position) && concepts.includes(x.concept))
      expect(both.n).toBe(want.length)
      expect(rowsOf(both)).toEqual(want)
      expect((await r.read({ checkpoint, layer, concepts: [] })).n).toBe(0)
    }
  })

  it("reads one layer without touching other shards", async () => {
    const dir = freshDir()
    const { batches, expected } = makeBatches(dModel, 2)
    const w = await ActivationWriter.open(dir, { dModel, shardRows: 1000 })
    for (const b of batches) await w.write(b)
    const index = await w.close()
    for (const s of index.shards) if (!(s.checkpoint === 500 && s.layer === 0)) unlinkSync(join(dir, s.file))
    const r = await ActivationReader.open(dir)
    const got = await r.read({ checkpoint: 500, layer: 0 })
    expect(got.n).toBe(expected.get("500/0")!.length)
    expect(Array.from(got.seqIds)).toEqual(expected.get("500/0")!.map((x) => x.seqId))
    await expect(r.read({ checkpoint: 0, layer: 0 })).rejects.toMatchObject({ _tag: "ParquetError" })
  })

  it("is queryable by DuckDB across shards, grouped by layer", async () => {
    const dir = freshDir()
    const { batches, expected } = makeBatches(dModel, 3)
    const w = await ActivationWriter.open(dir, { dModel, shardRows: 30 })
    for (const b of batches) await w.write(b)
    await w.close()
    const con = await (await DuckDBInstance.create()).connect()
    const res = await con.runAndReadAll(
      `SELECT checkpoint, layer, any_value(hook) AS hook, count(*) AS n, sum(list_sum(vector)) AS total, min(len(vector)) AS dmin, max(len(vector)) AS dmax
       FROM read_parquet('${dir}/part-*.parquet') GROUP BY checkpoint, layer ORDER BY checkpoint, layer`
    )
    const rows = res.getRowObjects()
    expect(rows.map((x) => `${x.checkpoint}/${x.layer}`)).toEqual(["0/-1", "0/0", "0/2", "500/-1", "500/0", "500/2"])
    for (const x of rows) {
      const want = expected.get(`${x.checkpoint}/${x.layer}`)!
      expect(Number(x.n)).toBe(want.length)
      expect([Number(x.dmin), Number(x.dmax)]).toEqual([dModel, dModel])
      expect(x.hook).toBe(x.layer === -1 ? "hook_embed" : `blocks.${x.layer}.hook_resid_post`)
      const total = want.reduce((s, r) => s + r.vector.reduce((a, v) => a + Math.fround(v), 0), 0)
      expect(x.total as number).toBeCloseTo(total, 2)
    }
  })

  it("finishes the least recently written shard past maxOpenShards, keeping rows in order, and keeps hooks apart", async () => {
    const dir = freshDir()
    const { batches, expected } = makeBatches(dModel, 4)
    const w = await ActivationWriter.open(dir, { dModel, maxOpenShards: 2, rowGroupBytes: 10 * (dModel * 4 + 12) })
    for (const b of batches) await w.write(b)
    const finished = readdirSync(dir).filter((f) => f.endsWith(".parquet")).sort()
    expect(finished.length).toBeGreaterThan(6) // keys were reopened into new shards
    // shards finished before close() are complete Parquet files already
    const con = await (await DuckDBInstance.create()).connect()
    const [first] = (await con.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${join(dir, finished[0])}')`)).getRowObjects()
    expect(Number(first.n)).toBeGreaterThan(0)
    await w.write({ ...batches[1], hook: "blocks.0.hook_mlp_out" })
    const index = await w.close()
    expect(index.shards.length).toBeGreaterThan(7)
    const r = await ActivationReader.open(dir)
    expect(r.hooks(0, 0)).toEqual(["blocks.0.hook_mlp_out", "blocks.0.hook_resid_post"])
    await expect(r.read({ checkpoint: 0, layer: 0 })).rejects.toMatchObject({ _tag: "ActivationStoreError", field: "hook" })
    const post = await r.read({ checkpoint: 0, layer: 0, hook: "blocks.0.hook_resid_post" })
    expect(rowsOf(post)).toEqual(expected.get("0/0"))
    const mlp = await r.read({ checkpoint: 0, layer: 0, hook: "blocks.0.hook_mlp_out" })
    expect(Array.from(mlp.seqIds)).toEqual(Array.from(batches[1].seqIds))
    for (const [key, rows] of expected) {
      const [checkpoint, layer] = key.split("/").map(Number)
      if (checkpoint === 0 && layer === 0) continue
      expect(rowsOf(await r.read({ checkpoint, layer }))).toEqual(rows)
    }
  })

  it("writes large batches as their own row groups and small ones batched", async () => {
    const dir = freshDir()
    const rowBytes = dModel * 4 + 12
    const w = await ActivationWriter.open(dir, { dModel, rowGroupBytes: 10 * rowBytes, shardRows: 1000 })
    const batch = (n: number, s0: number): ActivationBatch => ({
      checkpoint: 1,
      layer: 0,
      positions: new Int32Array(n),
      seqIds: Int32Array.from({ length: n }, (_, i) => s0 + i),
      concepts: new Int32Array(n),
      vectors: Float32Array.from({ length: n * dModel }, (_, k) => (s0 + Math.floor(k / dModel)) * 1000 + (k % dModel)) // row seq*1000 + col
    })
    let s0 = 0
    for (const n of [3, 4, 25, 2, 2, 2, 2, 2, 11, 3, 4, 5]) {
      await w.write(batch(n, s0))
      s0 += n
    }
    const index = await w.close()
    expect(index.shards).toHaveLength(1)
    const con = await (await DuckDBInstance.create()).connect()
    const groups = (await con.runAndReadAll(`SELECT row_group_num_rows AS n FROM parquet_metadata('${join(dir, index.shards[0].file)}') WHERE path_in_schema = 'seq_id' ORDER BY row_group_id`)).getRowObjects()
    // 3+4 pending, flushed before the direct 25; 2x5 = 10 fills a row group; 11 direct;
    // 3+4+3 fills the next one, the last 2 rows of the 5 are flushed at close
    expect(groups.map((g) => Number(g.n))).toEqual([7, 25, 10, 11, 10, 2])
    const got = await (await ActivationReader.open(dir)).read({ checkpoint: 1, layer: 0 })
    expect(Array.from(got.seqIds)).toEqual(Array.from({ length: s0 }, (_, i) => i))
    expect(Array.from(got.vectors)).toEqual(Array.from({ length: s0 * dModel }, (_, k) => Math.floor(k / dModel) * 1000 + (k % dModel)))
  })

  it("reports misuse with tagged errors", async () => {
    const dir = freshDir()
    const w = await ActivationWriter.open(dir, { dModel: 4 })
    const bad = { checkpoint: 0, layer: 1, positions: new Int32Array(2), seqIds: new Int32Array(2), concepts: new Int32Array(2), vectors: new Float32Array(7) }
    const e = await w.write(bad).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ActivationStoreError)
    expect((e as ActivationStoreError).field).toBe("vectors")
    await w.write({ ...bad, vectors: new Float32Array(8) })
    await w.close()
    await expect(w.write({ ...bad, vectors: new Float32Array(8) })).rejects.toMatchObject({ reason: "write after close" })
    await expect(ActivationWriter.open(dir, { dModel: 4 })).rejects.toMatchObject({ reason: expect.stringMatching(/already holds a store/) })
    const r = await ActivationReader.open(dir)
    await expect(r.read({ checkpoint: 0, layer: 5 })).rejects.toMatchObject({ reason: expect.stringMatching(/no activations for checkpoint 0, layer 5 .*layers 1/) })
    await expect(ActivationReader.open(join(root, "nowhere"))).rejects.toBeInstanceOf(ActivationStoreError)
    expect(existsSync(join(dir, "index.json"))).toBe(true)
    const dir2 = freshDir()
    const w2 = await ActivationWriter.open(dir2, { dModel: 4, shardRows: 1 })
    await w2.write({ ...bad, vectors: new Float32Array(8) })
    expect(readdirSync(dir2).length).toBe(2)
    await w2.abort()
    expect(readdirSync(dir2)).toEqual([])
  })
})
