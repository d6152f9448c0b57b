/**
 * The project's Parquet codec beside the maintained libraries, same data, same machine, one run:
 * writers: ours (writeParquetFile), hyparquet-writer (SNAPPY, its default codec, and UNCOMPRESSED),
 * and raw fs.writeFile of our file's bytes (the floor); readers, on every writer's files, right
 * after they were written (page cache warm): ours (readParquetFile), hyparquet parquetRead
 * (columnar chunks) and parquetReadObjects, and raw fs.readFile. Best of `reps` repetitions (for
 * small tables, each repetition's figure is the median over `smallIters` files).
 * Data: activation shards as the activation store writes them, and the pipeline's small tables.
 * Every file is checked once: DuckDB, our reader and hyparquet read back the values written.
 *
 * Run: npx tsx --conditions=@conceptscope/source tools/src/bench-parquet.ts [--quick] [--mb N] [--dims 64,4096|none]
 *      [--reps N] [--iters N (small-table files per repetition)]
 */
import { mkdtempSync, rmSync } from "node:fs"
import { readFile, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { DuckDBInstance } from "@duckdb/node-api"
import { encodeParquet, readParquetFile, writeParquetFile, type Table } from "@conceptscope/artifacts"
import { parquetRead, parquetReadObjects, type ColumnData } from "hyparquet"
import { parquetWriteFile, type ColumnSource } from "hyparquet-writer"
import {
  activationDataset,
  checkWithDuckDB,
  checkWithHyparquet,
  expectTable,
  hwColumns,
  hwSchema,
  smallDatasets,
  type Dataset
} from "./bench-parquet-data.js"

export interface BenchParquetOptions {
  /** MB (2^20 bytes) of float32 vectors per activation data set. Default 256. */
  vectorMB?: number
  /** Vector dims of the activation data sets. Default [64, 4096]. */
  dims?: number[]
  /** Repetitions; the best is reported. Default 3. */
  reps?: number
  /** Small-table files written and read per repetition (time per file: their median). Default 40. */
  smallIters?: number
  /** Run the DuckDB / reader value checks. Default true. */
  check?: boolean
  /** Scratch directory (a temporary folder under it is removed at the end). Default os.tmpdir(). */
  dir?: string
  log?: (line: string) => void
}

export interface Row {
  dataset: string
  op: "write" | "read"
  /** Who wrote (op write) or read (op read). */
  impl: string
  /** Whose files were read (op read) or written (op write). */
  file: string
  /** Best over repetitions of the time for all shards (activations) or one file (small tables; median of `smallIters` files). */
  ms: number
  /** Column-value bytes (same for every writer) per second, in MB (10^6 bytes). */
  mbPerS: number
  rowsPerS: number
  /** Size on disk of `file`'s files (all shards). */
  fileBytes: number
  /** ms over raw fs (writeFile / readFile of our file's bytes) for the same op. */
  vsRaw: number
  /** ms over ours for the same op: our writer, or our reader on the same files (on our files for raw fs). */
  vsOurs: number
  /** hyparquet-writer only: ms spent turning our Table into its input (vectors as number[][]), not included in `ms`. */
  prepMs?: number
}

type WriterName = "raw fs" | "ours" | "hyparquet-writer SNAPPY" | "hyparquet-writer UNCOMPRESSED"
type ReaderName = "raw fs" | "ours" | "hyparquet parquetRead" | "hyparquet parquetReadObjects"
const WRITERS: WriterName[] = ["raw fs", "ours", "hyparquet-writer SNAPPY", "hyparquet-writer UNCOMPRESSED"]
const PARQUET_READERS: ReaderName[] = ["ours", "hyparquet parquetRead", "hyparquet parquetReadObjects"]
const fileTag: Record<WriterName, string> = {
  "raw fs": "raw",
  ours: "ours",
  "hyparquet-writer SNAPPY": "hw-snappy",
  "hyparquet-writer UNCOMPRESSED": "hw-uncompressed"
}

const now = () => performance.now()

/** An ArrayBuffer holding exactly the file's bytes (no copy when readFile gave a whole buffer). */
async function fileBuffer(path: string): Promise<ArrayBuffer> {
  const b = await readFile(path)
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? (b.buffer as ArrayBuffer) : (b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer)
}

/** Read one file with `reader`; returns the number of rows seen (keeps the result alive until counted). */
async function readWith(reader: ReaderName, path: string): Promise<number> {
  switch (reader) {
    case "raw fs":
      return (await readFile(path)).length > 0 ? 1 : 0
    case "ours":
      return (await readParquetFile(path)).numRows
    case "hyparquet parquetRead": {
      const chunks: ColumnData[] = []
      await parquetRead({ file: await fileBuffer(path), onChunk: (c) => chunks.push(c) })
      return chunks.length
    }
    case "hyparquet parquetReadObjects":
      return (await parquetReadObjects({ file: await fileBuffer(path) })).length
  }
}

/** Write one file with `writer` (hyparquet-writer input prepared by the caller). */
async function writeWith(writer: WriterName, path: string, t: Table, d: Dataset, raw: Uint8Array, hw: ColumnSource[] | undefined): Promise<void> {
  const rowGroupRows = d.rowGroupRows ?? Math.max(1, t.numRows)
  switch (writer) {
    case "raw fs":
      return writeFile(path, raw)
    case "ours":
      return writeParquetFile(path, t, { rowGroupRows })
    case "hyparquet-writer SNAPPY":
    case "hyparquet-writer UNCOMPRESSED":
      parquetWriteFile({
        filename: path,
        columnData: hw!,
        schema: hwSchema(t),
        codec: writer === "hyparquet-writer SNAPPY" ? "SNAPPY" : "UNCOMPRESSED",
        rowGroupSize: rowGroupRows
      })
  }
}

/** Median time of `iters` sequential calls (robust to a GC pause or a busy neighbour in sub-ms calls). */
async function medianMs(iters: number, f: () => Promise<unknown>): Promise<number> {
  const t: number[] = []
  for (let k = 0; k < iters; k++) {
    const t0 = now()
    await f()
    t.push(now() - t0)
  }
  t.sort((a, b) => a - b)
  return t[Math.floor(t.length / 2)]
}

interface Timing {
  ms: number
  prepMs?: number
}

/** Time every writer and, right after each write, every reader on what it wrote; keep the best of each. */
async function measure(d: Dataset, dir: string, reps: number, iters: number, check: boolean, log: (s: string) => void): Promise<Row[]> {
  const best = new Map<string, Timing>()
  const keep = (key: string, t: Timing) => {
    const b = best.get(key)
    if (!b || t.ms < b.ms) best.set(key, { ms: t.ms, prepMs: Math.min(t.prepMs ?? Infinity, b?.prepMs ?? Infinity) })
  }
  const paths = (w: WriterName) => d.files.map((_, i) => join(dir, `${d.kind}-${fileTag[w]}-${i}.${w === "raw fs" ? "bin" : "parquet"}`))
  const raws = d.files.map((t) => encodeParquet(t, { rowGroupRows: d.rowGroupRows ?? Math.max(1, t.numRows) }))
  for (let rep = 0; rep < reps; rep++) {
    for (const w of WRITERS) {
      let ms = 0
      let prepMs = 0
      const ps = paths(w)
      for (let i = 0; i < d.files.length; i++) {
        let hw: ColumnSource[] | undefined
        if (w.startsWith("hyparquet-writer")) {
          const t0 = now()
          hw = hwColumns(d.files[i])
          prepMs += now() - t0
        }
        ms += await medianMs(iters, () => writeWith(w, ps[i], d.files[i], d, raws[i], hw))
      }
      keep(`write|${w}|${w}`, { ms, prepMs: w.startsWith("hyparquet-writer") ? prepMs : undefined })
      for (const r of w === "raw fs" ? (["raw fs"] as ReaderName[]) : PARQUET_READERS) {
        let ms = 0
        for (const p of ps) ms += await medianMs(iters, () => readWith(r, p))
        keep(`read|${r}|${w}`, { ms })
      }
    }
    log(`  ${d.name}: repetition ${rep + 1}/${reps} done`)
    if (rep === 0 && check) await checkFiles(d, paths, raws, log)
  }
  const fileBytes = new Map<WriterName, number>()
  for (const w of WRITERS) fileBytes.set(w, (await Promise.all(paths(w).map((p) => stat(p)))).reduce((s, x) => s + x.size, 0))
  for (const w of WRITERS) for (const p of paths(w)) rmSync(p, { force: true })
  const rows: Row[] = []
  for (const [key, t] of best) {
    const [op, impl, wrote] = key.split("|") as ["write" | "read", string, WriterName]
    const raw = best.get(`${op}|raw fs|raw fs`)!.ms
    const ours = best.get(op === "write" ? "write|ours|ours" : `read|ours|${wrote === "raw fs" ? "ours" : wrote}`)!.ms
    rows.push({
      dataset: d.name,
      op,
      impl,
      file: wrote,
      ms: t.ms,
      mbPerS: d.dataBytes / 1e6 / (t.ms / 1000),
      rowsPerS: d.rows / (t.ms / 1000),
      fileBytes: fileBytes.get(wrote) ?? 0,
      vsRaw: t.ms / raw,
      vsOurs: t.ms / ours,
      ...(t.prepMs !== undefined && Number.isFinite(t.prepMs) ? { prepMs: t.prepMs } : {})
    })
  }
  return rows
}

/** Values round-trip: DuckDB, our reader and hyparquet read every writer's files back equal to the source. */
async function checkFiles(d: Dataset, paths: (w: WriterName) => string[], raws: Uint8Array[], log: (s: string) => void): Promise<void> {
  const instance = await DuckDBInstance.create()
  const con = await instance.connect()
  try {
    const ours = paths("ours")
    for (let i = 0; i < d.files.length; i++)
      if (!Buffer.from(await readFile(ours[i])).equals(Buffer.from(raws[i]))) throw new Error(`${ours[i]}: not the bytes encodeParquet gives`)
    for (const w of WRITERS.filter((x) => x !== "raw fs")) {
      const ps = paths(w)
      for (let i = 0; i < d.files.length; i++) {
        const t = d.files[i]
        await checkWithDuckDB(con, ps[i], t, w === "ours" ? undefined : ours[i])
        expectTable(await readParquetFile(ps[i]), t, `ours reading ${ps[i]}`)
        await checkWithHyparquet(await fileBuffer(ps[i]), t, ps[i])
      }
    }
    log(`  ${d.name}: DuckDB, ours and hyparquet read every writer's files back equal`)
  } finally {
    con.closeSync()
    instance.closeSync()
  }
}

export async function benchParquet(opts: BenchParquetOptions = {}): Promise<Row[]> {
  const { vectorMB = 256, dims = [64, 4096], reps = 3, smallIters = 40, check = true, log = (s: string) => process.stderr.write(s + "\n") } = opts
  const dir = mkdtempSync(join(opts.dir ?? tmpdir(), "bench-parquet-"))
  try {
    const rows: Row[] = []
    const n = dims.length > 0 ? Math.floor((vectorMB * 1024 * 1024) / 4) : 0
    const vectors = new Float32Array(n)
    let s = 12345
    for (let i = 0; i < n; i++) {
      s ^= s << 13
      s ^= s >>> 17
      s ^= s << 5
      vectors[i] = ((s >>> 0) / 2 ** 32 - 0.5) * 8
    }
    for (const dim of dims) {
      const d = activationDataset(vectors, dim)
      log(`${d.name}: ${d.rows} rows in ${d.files.length} shards, ${(d.dataBytes / 1e6).toFixed(0)} MB of values`)
      rows.push(...(await measure(d, dir, reps, 1, check, log)))
    }
    for (const d of smallDatasets()) {
      log(`${d.name}: ${(d.dataBytes / 1e3).toFixed(1)} kB of values`)
      rows.push(...(await measure(d, dir, reps, smallIters, check, log)))
    }
    return rows
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const fmt = (x: number, digits = 2): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(digits))

/** Markdown table of the rows. */
export function formatParquetBench(rows: Row[]): string {
  const head = ["data set", "op", "impl", "files of", "ms", "MB/s", "rows/s", "file MB", "x raw fs", "x ours", "input prep ms"]
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`]
  for (const r of rows)
    lines.push(
      `| ${[
        r.dataset,
        r.op,
        r.impl,
        r.file,
        fmt(r.ms),
        fmt(r.mbPerS),
        r.rowsPerS.toExponential(2),
        fmt(r.fileBytes / 1e6, 3),
        fmt(r.vsRaw),
        fmt(r.vsOurs),
        r.prepMs !== undefined ? fmt(r.prepMs) : ""
      ].join(" | ")} |`
    )
  return lines.join("\n")
}

/**
 * Short Markdown summary: writes, then reads of every writer's files. Activation cells are MB/s of
 * column values, small-table cells ms per file; in brackets the time relative to ours (ours on our
 * files: relative to raw fs).
 */
export function formatParquetSummary(rows: Row[]): string {
  const cellOf = (r: Row | undefined): string => {
    if (!r) return ""
    const v = r.dataset.startsWith("activations") ? `${fmt(r.mbPerS)} MB/s` : `${fmt(r.ms)} ms`
    if (r.impl !== "ours") return `${v} (${fmt(r.vsOurs)}x)`
    return r.file === "ours" ? `**${v}** (${fmt(r.vsRaw)}x raw fs)` : `**${v}**`
  }
  const sets = [...new Set(rows.map((r) => r.dataset))]
  const find = (dataset: string, op: string, impl: string, file: string) =>
    rows.find((r) => r.dataset === dataset && r.op === op && r.impl === impl && r.file === file)
  const out: string[] = []
  const wr: WriterName[] = ["raw fs", "ours", "hyparquet-writer SNAPPY", "hyparquet-writer UNCOMPRESSED"]
  out.push(`| write | ${wr.join(" | ")} |`, `|---|${wr.map(() => "---").join("|")}|`)
  for (const d of sets) out.push(`| ${d} | ${wr.map((w) => cellOf(find(d, "write", w, w))).join(" | ")} |`)
  const rd: ReaderName[] = ["raw fs", "ours", "hyparquet parquetRead", "hyparquet parquetReadObjects"]
  out.push("", `| read (files of) | ${rd.join(" | ")} |`, `|---|${rd.map(() => "---").join("|")}|`)
  for (const d of sets)
    for (const w of wr.slice(1))
      out.push(`| ${d} (${w}) | ${rd.map((r) => (r === "raw fs" ? (w === "ours" ? cellOf(find(d, "read", r, r)) : "") : cellOf(find(d, "read", r, w)))).join(" | ")} |`)
  return out.join("\n")
}

/** Command line: [--quick] [--mb N] [--dims 64,4096|none] [--reps N] [--iters N]. */
async function main(argv: string[]): Promise<void> {
  const arg = (name: string): number | undefined => {
    const i = argv.indexOf(name)
    return i >= 0 ? Number(argv[i + 1]) : undefined
  }
  const quick = argv.includes("--quick")
  const dimsAt = argv.indexOf("--dims")
  const dims = dimsAt >= 0 ? (argv[dimsAt + 1] ?? "").split(",").map(Number).filter((d) => d > 0) : undefined
  const rows = await benchParquet({
    vectorMB: arg("--mb") ?? (quick ? 16 : 256),
    dims,
    reps: arg("--reps") ?? (quick ? 1 : 3),
    smallIters: arg("--iters") ?? (quick ? 5 : 40)
  })
  console.log(formatParquetBench(rows))
  console.log("")
  console.log(formatParquetSummary(rows))
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e)
    process.exitCode = 1
  })
