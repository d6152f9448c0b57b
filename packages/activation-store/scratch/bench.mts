import { writeParquetFile, readParquetFile } from "../../artifacts/src/parquet"
import { mkdirSync } from "node:fs"
const rows = 700, dim = 4096
mkdirSync("/tmp/pqb", { recursive: true })
const vec = new Float32Array(rows * dim).map(() => Math.random())
const t = { numRows: rows, columns: [ { name: "p", type: "int32" as const, data: new Int32Array(rows) }, { name: "v", type: "vector" as const, dim, data: vec } ] }
for (let rep = 0; rep < 3; rep++) {
  let t0 = performance.now()
  for (let k = 0; k < 8; k++) await writeParquetFile(`/tmp/pqb/f${k}.parquet`, t)
  const w = performance.now() - t0
  t0 = performance.now()
  for (let k = 0; k < 8; k++) await readParquetFile(`/tmp/pqb/f${k}.parquet`)
  const r = performance.now() - t0
  const mb = 8 * rows * dim * 4 / 1e6
  console.log(`write ${(mb / w * 1000).toFixed(0)} MB/s, read ${(mb / r * 1000).toFixed(0)} MB/s`)
}
