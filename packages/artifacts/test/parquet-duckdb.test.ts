import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ParquetError, readParquetFile, readParquetSchema, writeParquetFile, type Table } from "../src/parquet/index.js"

const dir = mkdtempSync(join(tmpdir(), "parquet-duckdb-"))
let con: DuckDBConnection
beforeAll(async () => {
  con = await (await DuckDBInstance.create()).connect()
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const rowsOf = async (sql: string) => (await con.runAndReadAll(sql)).getRowObjects()

describe("DuckDB reads our files", () => {
  it("returns the same scalars, strings and vectors (len, elements, list_sum)", async () => {
    const n = 25
    const dim = 96
    const vec = Float32Array.from({ length: n * dim }, (_, k) => Math.sin(k) * 10) // [n, dim]
    const t: Table = {
      numRows: n,
      columns: [
        { name: "id", type: "int32", data: Int32Array.from({ length: n }, (_, i) => i * 3 - 20) },
        { name: "big", type: "int64", data: BigInt64Array.from({ length: n }, (_, i) => 2n ** 60n + BigInt(i)) },
        { name: "x", type: "float32", data: Float32Array.from({ length: n }, (_, i) => (i === 3 ? NaN : i / 4)) },
        { name: "y", type: "float64", data: Float64Array.from({ length: n }, (_, i) => -i * 1e-3) },
        { name: "ok", type: "bool", data: Uint8Array.from({ length: n }, (_, i) => i % 3 === 0 ? 1 : 0) },
        { name: "s", type: "string", data: Array.from({ length: n }, (_, i) => `row ${i} ✓ é`) },
        { name: "vec", type: "vector", dim, data: vec }
      ]
    }
    const p = join(dir, "ours.parquet")
    await writeParquetFile(p, t, { rowGroupRows: 10 })
    const got = await rowsOf(
      `SELECT id, big, x, y, ok, s, len(vec) AS l, vec[1] AS first, vec[${dim}] AS last, list_sum(vec) AS total
       FROM read_parquet('${p}') ORDER BY id`
    )
    expect(got).toHaveLength(n)
    got.forEach((r, i) => {
      expect(r.id).toBe(i * 3 - 20)
      expect(r.big).toBe(2n ** 60n + BigInt(i))
      if (i === 3) expect(Number.isNaN(r.x as number)).toBe(true)
      else expect(r.x).toBe(i / 4)
      expect(r.y).toBe(-i * 1e-3)
      expect(r.ok).toBe(i % 3 === 0)
      expect(r.s).toBe(`row ${i} ✓ é`)
      expect(Number(r.l)).toBe(dim)
      expect(r.first).toBe(vec[i * dim])
      expect(r.last).toBe(vec[i * dim + dim - 1])
      let sum = 0
      for (let k = 0; k < dim; k++) sum += vec[i * dim + k]
      expect(r.total as number).toBeCloseTo(sum, 3)
    })
    // row-group statistics let DuckDB answer a range filter correctly
    const [c] = await rowsOf(`SELECT count(*) AS c FROM read_parquet('${p}') WHERE id >= 25`)
    expect(Number(c.c)).toBe(t.columns[0].data.filter((v) => (v as number) >= 25).length)
    const stats = await rowsOf(
      `SELECT row_group_id, stats_min_value, stats_max_value FROM parquet_metadata('${p}') WHERE path_in_schema = 'id' ORDER BY row_group_id`
    )
    expect(stats.map((s) => [s.stats_min_value, s.stats_max_value])).toEqual([["-20", "7"], ["10", "37"], ["40", "52"]])
  })
})

describe("we read DuckDB's files (hyparquet fallback)", () => {
  it("reads scalars, strings and a FLOAT[] list column", async () => {
    const p = join(dir, "duck.parquet")
    await con.run(
      `COPY (SELECT i::INTEGER AS i, (i::BIGINT * 1000000000000) AS b, (i / 8)::FLOAT AS f, (i * 0.1)::DOUBLE AS d,
              i % 2 = 0 AS even, 'n' || i::VARCHAR || ' ü' AS name,
              [i::FLOAT, -i::FLOAT, 0.5::FLOAT] AS v
            FROM range(0, 3000) t(i) ORDER BY i)
       TO '${p}' (FORMAT parquet, ROW_GROUP_SIZE 1024)`
    )
    const schema = await readParquetSchema(p)
    expect(schema.numRows).toBe(3000)
    expect(schema.columns).toEqual([
      { name: "i", type: "int32" },
      { name: "b", type: "int64" },
      { name: "f", type: "float32" },
      { name: "d", type: "float64" },
      { name: "even", type: "bool" },
      { name: "name", type: "string" },
      { name: "v", type: "vector", dim: 3 }
    ])
    const t = await readParquetFile(p)
    const col = (name: string) => t.columns.find((c) => c.name === name)!
    for (let i = 0; i < 3000; i++) {
      expect(col("i").data[i]).toBe(i)
      expect(col("b").data[i]).toBe(BigInt(i) * 1000000000000n)
      expect(col("f").data[i]).toBe(Math.fround(i / 8))
      expect(col("d").data[i]).toBeCloseTo(i * 0.1, 12)
      expect(col("even").data[i]).toBe(i % 2 === 0 ? 1 : 0)
      expect(col("name").data[i]).toBe(`n${i} ü`)
    }
    const v = col("v")
    expect(v.type === "vector" && v.dim).toBe(3)
    expect(Array.from((v.data as Float32Array).subarray(3 * 2999))).toEqual([2999, -2999, 0.5])
    const sub = await readParquetFile(p, { columns: ["v", "i"] })
    expect(sub.columns.map((c) => c.name)).toEqual(["v", "i"])
  })

  it("refuses nulls and ragged lists with a ParquetError naming the column", async () => {
    const p = join(dir, "nulls.parquet")
    await con.run(`COPY (SELECT CASE WHEN i = 2 THEN NULL ELSE i END::INTEGER AS k FROM range(5) t(i)) TO '${p}' (FORMAT parquet)`)
    const e = await readParquetFile(p).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ParquetError)
    expect((e as ParquetError).field).toBe("k")
    expect((e as ParquetError).reason).toMatch(/null value at row 2/)
    const q = join(dir, "ragged.parquet")
    await con.run(`COPY (SELECT [1.0, 2.0]::FLOAT[] AS v UNION ALL SELECT [1.0]::FLOAT[]) TO '${q}' (FORMAT parquet)`)
    const r = await readParquetFile(q).catch((x: unknown) => x)
    expect((r as ParquetError).field).toBe("v")
    expect((r as ParquetError).reason).toMatch(/list lengths differ/)
  })
})
