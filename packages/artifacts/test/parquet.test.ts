import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parquetMetadata, parquetReadObjects } from "hyparquet"
import { afterAll, describe, expect, it } from "vitest"
import {
  encodeParquet,
  ParquetError,
  ParquetStreamWriter,
  readParquetFile,
  readParquetSchema,
  writeParquetFile,
  type Column,
  type Table
} from "../src/parquet/index.js"

const dir = mkdtempSync(join(tmpdir(), "parquet-test-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

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

const randomVectors = (rows: number, dim: number, seed: number): Float32Array => {
  const u = seeded(seed)
  return Float32Array.from({ length: rows * dim }, () => (u() - 0.5) * 200)
}

/** Byte-exact comparison (NaN payloads, -0 included). */
/** A standalone ArrayBuffer holding exactly these bytes. */
const arrayBufferOf = (b: Uint8Array): ArrayBuffer => new Uint8Array(b).buffer as ArrayBuffer // copy (Buffer.slice shares memory)

const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) =>
  expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true)

const expectSameTable = (got: Table, want: Table) => {
  expect(got.numRows).toBe(want.numRows)
  expect(got.columns.map((c) => [c.name, c.type])).toEqual(want.columns.map((c) => [c.name, c.type]))
  got.columns.forEach((g, i) => {
    const w = want.columns[i]
    if (w.type === "vector" && g.type === "vector") expect(g.dim).toBe(w.dim)
    if (w.type === "string") expect(g.data).toEqual(w.data)
    else if (w.type === "bool") expect(Array.from(g.data as Uint8Array)).toEqual(Array.from(w.data, (x) => (x ? 1 : 0)))
    else sameBytes(g.data as ArrayBufferView, w.data)
  })
}

const mixedTable = (): Table => ({
  numRows: 6,
  columns: [
    { name: "i32", type: "int32", data: new Int32Array([0, -1, 2147483647, -2147483648, 42, -7]) },
    {
      name: "i64",
      type: "int64",
      data: new BigInt64Array([2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n, 0n, -5n, 9007199254740993n])
    },
    { name: "f32", type: "float32", data: new Float32Array([NaN, -0, Infinity, -Infinity, 1.5e-45, -3.25]) },
    { name: "f64", type: "float64", data: new Float64Array([NaN, -0, Infinity, 1e308, -5e-324, Math.PI]) },
    { name: "flag", type: "bool", data: new Uint8Array([1, 0, 0, 1, 1, 0]) },
    { name: "text", type: "string", data: ["", "héllo wörld", "日本語テキスト", "emoji 🧠🔬", "a\u0301 combining", "x".repeat(1000)] },
    { name: "v4", type: "vector", dim: 4, data: Float32Array.from({ length: 24 }, (_, k) => (k % 5 === 0 ? NaN : k - 10.5)) },
    { name: "v1", type: "vector", dim: 1, data: new Float32Array([1, -2, 3, -4, 5, -6]) }
  ]
})

describe("parquet round trip", () => {
  it("keeps every column kind, incl. NaN, -0, extreme ints and unicode", async () => {
    const t = mixedTable()
    const p = join(dir, "mixed.parquet")
    await writeParquetFile(p, t, { kvMetadata: { note: "hello", "ünï": "cödé" } })
    expectSameTable(await readParquetFile(p), t)
    const schema = await readParquetSchema(p)
    expect(schema.numRows).toBe(6)
    expect(schema.kvMetadata).toEqual({ note: "hello", "ünï": "cödé" })
    expect(schema.columns.find((c) => c.name === "v4")).toEqual({ name: "v4", type: "vector", dim: 4 })
  })

  it("is read identically by an independent reader (hyparquet)", async () => {
    const t = mixedTable()
    const bytes = encodeParquet(t)
    const rows = await parquetReadObjects({ file: arrayBufferOf(bytes) })
    expect(rows).toHaveLength(6)
    rows.forEach((r, i) => {
      expect(r.i32).toBe((t.columns[0].data as Int32Array)[i])
      expect(r.i64).toBe((t.columns[1].data as BigInt64Array)[i])
      expect(Object.is(r.f32, (t.columns[2].data as Float32Array)[i])).toBe(true)
      expect(Object.is(r.f64, (t.columns[3].data as Float64Array)[i])).toBe(true)
      expect(r.flag).toBe((t.columns[4].data as Uint8Array)[i] === 1)
      expect(r.text).toBe((t.columns[5].data as string[])[i])
      expect(Array.from(r.v4 as number[])).toEqual(Array.from((t.columns[6].data as Float32Array).subarray(4 * i, 4 * i + 4)))
      expect(Array.from(r.v1 as number[])).toEqual([(t.columns[7].data as Float32Array)[i]])
    })
  })

  it("writes the same bytes to a file as encodeParquet", async () => {
    const t = mixedTable()
    const p = join(dir, "same.parquet")
    await writeParquetFile(p, t, { rowGroupRows: 4 })
    expect(Buffer.from(readFileSync(p)).equals(Buffer.from(encodeParquet(t, { rowGroupRows: 4 })))).toBe(true)
  })

  it("round-trips dim=4096 vectors over several row groups, with int32 min/max per row group", async () => {
    const rows = 37
    const dim = 4096
    const ids = Int32Array.from({ length: rows }, (_, i) => ((i * 7919) % 101) - 50)
    const t: Table = {
      numRows: rows,
      columns: [
        { name: "id", type: "int32", data: ids },
        { name: "vec", type: "vector", dim, data: randomVectors(rows, dim, 11) }
      ]
    }
    const p = join(dir, "wide.parquet")
    await writeParquetFile(p, t, { rowGroupRows: 10 })
    expectSameTable(await readParquetFile(p), t)
    const meta = parquetMetadata(readFileSync(p))
    expect(meta.row_groups.map((g) => Number(g.num_rows))).toEqual([10, 10, 10, 7])
    meta.row_groups.forEach((g, k) => {
      const slice = Array.from(ids.subarray(10 * k, 10 * k + 10))
      const st = g.columns[0].meta_data!.statistics!
      expect(st.min_value).toBe(Math.min(...slice))
      expect(st.max_value).toBe(Math.max(...slice))
      expect(st.min).toBe(Math.min(...slice))
    })
  })

  it("handles zero rows (vector dim kept)", async () => {
    const t: Table = {
      numRows: 0,
      columns: [
        { name: "a", type: "int32", data: new Int32Array(0) },
        { name: "s", type: "string", data: [] },
        { name: "v", type: "vector", dim: 8, data: new Float32Array(0) }
      ]
    }
    const p = join(dir, "empty.parquet")
    await writeParquetFile(p, t)
    expectSameTable(await readParquetFile(p), t)
    expect((await readParquetSchema(p)).columns[2]).toEqual({ name: "v", type: "vector", dim: 8 })
    expect(await parquetReadObjects({ file: arrayBufferOf(readFileSync(p)) })).toEqual([])
  })

  it("reads a column subset in the order asked", async () => {
    const t = mixedTable()
    const p = join(dir, "subset.parquet")
    await writeParquetFile(p, t, { rowGroupRows: 4 })
    const got = await readParquetFile(p, { columns: ["v4", "text", "i32"] })
    expectSameTable(got, { numRows: 6, columns: [t.columns[6], t.columns[5], t.columns[0]] })
  })
})

describe("parquet stream writer", () => {
  it("appends row groups and equals the one-shot writer's content", async () => {
    const t = mixedTable()
    const p = join(dir, "stream.parquet")
    const w = await ParquetStreamWriter.open(p, t.columns.map((c) => (c.type === "vector" ? { name: c.name, type: c.type, dim: c.dim } : { name: c.name, type: c.type })), { kvMetadata: { k: "v" } })
    const slice = (r0: number, r1: number): Table => ({
      numRows: r1 - r0,
      columns: t.columns.map((c) => {
        const w = c.type === "vector" ? c.dim : 1
        return { ...c, data: c.data.slice(r0 * w, r1 * w) } as Column
      })
    })
    await w.writeRowGroup(slice(0, 1))
    await w.writeRowGroup(slice(1, 1)) // empty: skipped
    await w.writeRowGroup(slice(1, 6))
    expect(w.numRows).toBe(6)
    await expect(w.writeRowGroup({ numRows: 1, columns: [{ name: "i32", type: "int32", data: new Int32Array(1) }] })).rejects.toMatchObject({
      _tag: "ParquetError",
      reason: expect.stringMatching(/does not match the schema/)
    })
    await w.close()
    expectSameTable(await readParquetFile(p), t)
    expect(parquetMetadata(readFileSync(p)).row_groups.map((g) => Number(g.num_rows))).toEqual([1, 5])
    expect((await readParquetSchema(p)).kvMetadata).toEqual({ k: "v" })
  })

  it("closes an empty stream into a valid zero-row file, and abort removes the file", async () => {
    const p = join(dir, "stream-empty.parquet")
    const w = await ParquetStreamWriter.open(p, [{ name: "v", type: "vector", dim: 5 }])
    await w.close()
    expect(await readParquetSchema(p)).toEqual({ numRows: 0, columns: [{ name: "v", type: "vector", dim: 5 }], kvMetadata: {} })
    const q = join(dir, "stream-abort.parquet")
    const a = await ParquetStreamWriter.open(q, [{ name: "x", type: "int32" }])
    await a.writeRowGroup({ numRows: 1, columns: [{ name: "x", type: "int32", data: new Int32Array([1]) }] })
    await a.abort()
    expect(existsSync(q)).toBe(false)
  })
})

describe("parquet errors", () => {
  const expectParquetError = async (p: Promise<unknown>, field: string | undefined, reason: RegExp) => {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x
    )
    expect(e).toBeInstanceOf(ParquetError)
    const err = e as ParquetError
    expect(err._tag).toBe("ParquetError")
    expect(err.field).toBe(field)
    expect(err.reason).toMatch(reason)
    expect(err.message).not.toContain("\n")
  }

  it("rejects a column whose length does not match numRows", async () => {
    const bad: Column = { name: "v", type: "vector", dim: 3, data: new Float32Array(7) }
    await expectParquetError(writeParquetFile(join(dir, "bad.parquet"), { numRows: 2, columns: [bad] }), "v", /expected 6 values/)
    expect(() => encodeParquet({ numRows: 1, columns: [{ name: "x", type: "int32", data: new Int32Array(1) }, { name: "x", type: "int32", data: new Int32Array(1) }] })).toThrow(/duplicate/)
  })

  it("names an unknown column, a missing file and a non-Parquet file", async () => {
    const p = join(dir, "mixed2.parquet")
    await writeParquetFile(p, mixedTable())
    await expectParquetError(readParquetFile(p, { columns: ["nope"] }), "nope", /no such column/)
    await expectParquetError(readParquetFile(join(dir, "missing.parquet")), undefined, /ENOENT/)
    const junk = join(dir, "junk.parquet")
    writeFileSync(junk, "this is not a parquet file at all")
    await expectParquetError(readParquetFile(junk), undefined, /not a Parquet file/)
    const e = await readParquetSchema(junk).catch((x: ParquetError) => x)
    expect((e as ParquetError).message).toBe(`${junk}: not a Parquet file (no PAR1 footer magic)`)
  })
})
