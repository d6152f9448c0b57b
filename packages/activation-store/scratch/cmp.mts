import { ActivationWriter } from "../src"
import { writeParquetFile, ParquetStreamWriter } from "@conceptscope/artifacts"
import { rmSync, mkdirSync } from "node:fs"
import { shardColumns, shardTable } from "../src/shard-table"
const rows = 700, d = 4096, L = 4
const vec = new Float32Array(rows * d).map(() => Math.random())
const pos = new Int32Array(rows)
const mb = rows * d * 4 * L / 1e6
const key = (l: number) => ({ checkpoint: 0, layer: l, hook: "h" })
for (let rep = 0; rep < 5; rep++) {
  rmSync("/tmp/cmp", { recursive: true, force: true }); mkdirSync("/tmp/cmp")
  let t0 = performance.now()
  for (let l = 0; l < L; l++) await writeParquetFile(`/tmp/cmp/a${l}.parquet`, shardTable(key(l), d, rows, pos, pos, pos, vec))
  const a = performance.now() - t0
  t0 = performance.now()
  const ws = await Promise.all([0, 1, 2, 3].map((l) => ParquetStreamWriter.open(`/tmp/cmp/b${l}.parquet`, shardColumns(d))))
  for (let r0 = 0; r0 < rows; r0 += 100) for (let l = 0; l < L; l++) await ws[l].writeRowGroup(shardTable(key(l), d, 100, pos.subarray(r0, r0 + 100), pos.subarray(r0, r0 + 100), pos.subarray(r0, r0 + 100), vec.subarray(r0 * d, (r0 + 100) * d)))
  for (const w of ws) await w.close()
  const b = performance.now() - t0
  t0 = performance.now()
  const w = await ActivationWriter.open("/tmp/cmp/store", { dModel: d })
  for (let r0 = 0; r0 < rows; r0 += 100) for (let l = 0; l < L; l++) await w.write({ checkpoint: 0, layer: l, positions: pos.subarray(r0, r0 + 100), seqIds: pos.subarray(r0, r0 + 100), concepts: pos.subarray(r0, r0 + 100), vectors: vec.subarray(r0 * d, (r0 + 100) * d) })
  await w.close()
  const c = performance.now() - t0
  console.log(`one-shot ${(mb / a * 1000).toFixed(0)} MB/s, stream ${(mb / b * 1000).toFixed(0)} MB/s, store ${(mb / c * 1000).toFixed(0)} MB/s`)
}
