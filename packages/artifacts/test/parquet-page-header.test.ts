import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DuckDBInstance } from "@duckdb/node-api"
import { parquetMetadata, type ColumnMetaData } from "hyparquet"
import { afterAll, describe, expect, it } from "vitest"
import { pageHeader, readPageHeader } from "../src/parquet/footer.js"
import { Encoding, ENCODING_NAMES, PAGE_DATA, PAGE_TYPE_NAMES } from "../src/parquet/format.js"
import { encodeParquet, ParquetError, readParquetFile, writeParquetFile, type Table } from "../src/parquet/index.js"
import { ThriftReader, ThriftWriter } from "../src/parquet/thrift.js"

const dir = mkdtempSync(join(tmpdir(), "parquet-page-header-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const table = (n: number): Table => ({
  numRows: n,
  columns: [
    { name: "id", type: "int32", data: Int32Array.from({ length: n }, (_, i) => i - 3) },
    { name: "big", type: "int64", data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i) << 40n) },
    { name: "x", type: "float64", data: Float64Array.from({ length: n }, (_, i) => i / 7) },
    { name: "ok", type: "bool", data: Uint8Array.from({ length: n }, (_, i) => i % 2) },
    { name: "s", type: "string", data: Array.from({ length: n }, (_, i) => `s${i} é`) },
    { name: "v", type: "vector", dim: 5, data: Float32Array.from({ length: n * 5 }, (_, k) => Math.sin(k)) }
  ]
})

/** Start offset of a column chunk's first page (dictionary page first when there is one). */
const chunkStart = (md: ColumnMetaData): number => Number(md.dictionary_page_offset ?? md.data_page_offset)

describe("page header reader", () => {
  it("round-trips the writer's page header, at an offset, including sizes past 2^31 / 2", () => {
    for (const [numValues, body] of [
      [0, 0],
      [1, 4],
      [4096 * 300, 4096 * 300 * 4 + 99],
      [2 ** 31 - 1, 2 ** 31 - 1]
    ]) {
      const h = pageHeader(numValues, body)
      const padded = new Uint8Array(h.length + 3)
      padded.set(h, 3)
      const { header, end } = readPageHeader(padded, 3)
      expect(end).toBe(h.length + 3)
      expect(header).toEqual({
        type: PAGE_DATA,
        uncompressedPageSize: body,
        compressedPageSize: body,
        dataPage: { numValues, encoding: Encoding.PLAIN, defLevelEncoding: Encoding.RLE, repLevelEncoding: Encoding.RLE }
      })
    }
  })

  it("skips fields it does not need (crc, statistics, index page, lists, bools, maps, doubles)", () => {
    const w = new ThriftWriter()
    w.structBegin()
    w.i32(1, 2) // DICTIONARY_PAGE
    w.i32(2, 1000)
    w.i32(3, 600)
    w.i32(4, -12345) // crc
    w.structField(5)
    w.i32(1, 77)
    w.i32(2, 8)
    w.i32(3, 3)
    w.i32(4, 3)
    w.structField(5) // Statistics
    w.binary(1, new Uint8Array([1, 2, 3]))
    w.i64(3, 2 ** 40)
    w.bool(7, true)
    w.structEnd()
    w.structEnd()
    w.structField(6) // IndexPageHeader {}
    w.structEnd()
    w.listBegin(9, "string", 20) // long-form list header
    for (let i = 0; i < 20; i++) w.listString(`e${i}`)
    w.structField(20)
    w.listBegin(1, "struct", 1)
    w.structBegin()
    w.bool(1, false)
    w.structEnd()
    w.structEnd()
    w.structEnd()
    const base = w.bytes()
    // append hand-encoded fields the writer has no method for: a double (id 21), a map<i32,bool> (22), a list<bool> (23),
    // an i64 of -2^63 (24, a 10-byte varint)
    const extra = [
      ...[0x17, ...new Uint8Array(new Float64Array([1.5]).buffer)],
      ...[0x1b, 0x02, 0x51, 0x02, 0x01, 0x04, 0x02],
      ...[0x19, 0x21, 0x01, 0x02],
      ...[0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
    ]
    const bytes = new Uint8Array([...base.subarray(0, base.length - 1), ...extra, 0x00])
    const { header, end } = readPageHeader(bytes)
    expect(end).toBe(bytes.length)
    expect(header).toEqual({
      type: 2,
      uncompressedPageSize: 1000,
      compressedPageSize: 600,
      dataPage: { numValues: 77, encoding: 8, defLevelEncoding: 3, repLevelEncoding: 3 }
    })
    // the generic reader walks the whole struct too
    const r = new ThriftReader(bytes)
    r.skip(12)
    expect(r.offset).toBe(bytes.length)
  })

  it("throws on every truncation and on a missing required field", () => {
    const h = pageHeader(10, 40)
    for (let n = 0; n < h.length; n++) expect(() => readPageHeader(h.subarray(0, n))).toThrow(RangeError)
    const w = new ThriftWriter()
    w.structBegin()
    w.i32(1, 0)
    w.i32(2, 40) // no compressed size
    w.structEnd()
    expect(() => readPageHeader(w.bytes())).toThrow(/lacks a required field/)
  })

  it("agrees with hyparquet's public metadata on every column chunk of our files", async () => {
    const p = join(dir, "ours.parquet")
    const t = table(23)
    await writeParquetFile(p, t, { rowGroupRows: 10 })
    const bytes = new Uint8Array(readFileSync(p))
    const meta = parquetMetadata(bytes.buffer)
    expect(meta.row_groups).toHaveLength(3)
    for (const rg of meta.row_groups)
      for (const ch of rg.columns) {
        const md = ch.meta_data!
        const start = chunkStart(md)
        const { header, end } = readPageHeader(bytes, start)
        expect(PAGE_TYPE_NAMES[header.type]).toBe("DATA_PAGE")
        expect(header.compressedPageSize).toBe(header.uncompressedPageSize)
        expect(end - start + header.compressedPageSize).toBe(Number(md.total_compressed_size))
        expect(end - start + header.uncompressedPageSize!).toBe(Number(md.total_uncompressed_size))
        expect(header.dataPage!.numValues).toBe(Number(md.num_values))
        expect(md.encodings).toContain(ENCODING_NAMES[header.dataPage!.encoding])
      }
  })

  it("walks every page of DuckDB's files (dictionary pages, compression, page statistics) like the footer says", async () => {
    const con = await (await DuckDBInstance.create()).connect()
    for (const codec of ["uncompressed", "snappy"]) {
      const p = join(dir, `duck-${codec}.parquet`)
      await con.run(
        `COPY (SELECT i::INTEGER AS i, (i % 7)::BIGINT AS cat, 'name ' || (i % 13)::VARCHAR AS s, [i::FLOAT, 0.5::FLOAT] AS v
               FROM range(0, 50000) t(i))
         TO '${p}' (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 20000)`
      )
      const bytes = new Uint8Array(readFileSync(p))
      const meta = parquetMetadata(bytes.buffer)
      let pages = 0
      for (const rg of meta.row_groups)
        for (const ch of rg.columns) {
          const md = ch.meta_data!
          const start = chunkStart(md)
          const stop = start + Number(md.total_compressed_size)
          let at = start
          let values = 0
          let uncompressed = 0
          while (at < stop) {
            const { header, end } = readPageHeader(bytes, at)
            if (header.dataPage) {
              values += header.dataPage.numValues
              expect(md.encodings).toContain(ENCODING_NAMES[header.dataPage.encoding])
            }
            uncompressed += end - at + header.uncompressedPageSize!
            at = end + header.compressedPageSize
            pages++
          }
          expect(at).toBe(stop)
          expect(uncompressed).toBe(Number(md.total_uncompressed_size))
          // DuckDB writes data page v1; every leaf value of the chunk is counted once
          expect(values).toBe(Number(md.num_values))
        }
      expect(pages).toBeGreaterThan(meta.row_groups.length * 4)
    }
    con.closeSync()
  })
})

describe("fast reader page checks", () => {
  /** Our file with the first column's page header bytes replaced by `header` (same length). */
  const withFirstHeader = (name: string, edit: (h: Uint8Array) => Uint8Array): string => {
    const t: Table = { numRows: 3, columns: [{ name: "id", type: "int32", data: new Int32Array([1, 2, 3]) }] }
    const bytes = encodeParquet(t)
    const h = pageHeader(3, 12)
    expect(Buffer.from(bytes.subarray(4, 4 + h.length)).equals(Buffer.from(h))).toBe(true)
    const next = edit(h)
    expect(next.length).toBe(h.length)
    bytes.set(next, 4)
    const p = join(dir, name)
    writeFileSync(p, bytes)
    return p
  }

  const reasonOf = async (p: string) => {
    const e = await readParquetFile(p).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ParquetError)
    expect((e as ParquetError).field).toBe("id")
    return (e as ParquetError).reason
  }

  it("reads an intact file and names the page type and encoding of an unexpected page", async () => {
    const ok = withFirstHeader("ok.parquet", (h) => h)
    expect(Array.from((await readParquetFile(ok)).columns[0].data as Int32Array)).toEqual([1, 2, 3])
    const dict = withFirstHeader("dict.parquet", (h) => {
      const c = h.slice()
      c[1] = 2 << 1 // PageType zigzag: DICTIONARY_PAGE
      return c
    })
    expect(await reasonOf(dict)).toBe("unexpected page layout (DICTIONARY_PAGE, PLAIN, 3 values)")
    const rle = withFirstHeader("rle.parquet", (h) => {
      const c = h.slice()
      const at = c.indexOf(0x2c) // DataPageHeader; then num_values (header, value), encoding (header, value)
      c[at + 4] = 8 << 1 // RLE_DICTIONARY
      return c
    })
    expect(await reasonOf(rle)).toBe("unexpected page layout (DATA_PAGE, RLE_DICTIONARY, 3 values)")
  })

  it("reports an unreadable page header", async () => {
    const junk = withFirstHeader("junk.parquet", (h) => new Uint8Array(h.length).fill(0xff))
    expect(await reasonOf(junk)).toBe("unreadable page header")
  })
})
