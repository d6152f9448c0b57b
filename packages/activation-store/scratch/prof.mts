import { ActivationWriter, ActivationReader } from "../src"
import { writeParquetFile, readParquetFile } from "@conceptscope/artifacts"
import { rmSync } from "node:fs"
const rows = 700, d = 4096, L = 4
const vec = new Float32Array(rows * d).map(() => Math.random())
const pos = new Int32Array(rows)
for (let rep = 0; rep < 4; rep++) {
  rmSync("/tmp/prof", { recursive: true, force: true })
  const t0 = performance.now()
  const w = await ActivationWriter.open("/tmp/prof", { dModel: d })
  for (let r0 = 0; r0 < rows; r0 += 100) for (let l = 0; l < L; l++) await w.write({ checkpoint: 0, layer: l, positions: pos.subarray(r0, r0 + 100), seqIds: pos.subarray(r0, r0 + 100), concepts: pos.subarray(r0, r0 + 100), vectors: vec.subarray(r0 * d, (r0 + 100) * d) })
  const t1 = performance.now()
  await w.close()
  const t2 = performance.now()
  const r = await ActivationReader.open("/tmp/prof")
  for (let l = 0; l < L; l++) await r.read({ checkpoint: 0, layer: l })
  const t3 = performance.now()
  for (let l = 0; l < L; l++) await readParquetFile(`/tmp/prof/part-0000${l}.parquet`)
  const t4 = performance.now()
  const mb = rows * d * 4 * L / 1e6
  console.log(`buffer ${(t1 - t0).toFixed(1)}ms close ${(t2 - t1).toFixed(1)}ms => write ${(mb / (t2 - t0) * 1000).toFixed(0)} MB/s; store read ${(mb / (t3 - t2) * 1000).toFixed(0)} MB/s; raw read ${(mb / (t4 - t3) * 1000).toFixed(0)} MB/s`)
}
