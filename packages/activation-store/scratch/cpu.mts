import { ActivationWriter, ActivationReader } from "../src"
import { rmSync } from "node:fs"
const rows = 700, d = 4096, L = 4
const vec = new Float32Array(rows * d).map(() => Math.random())
const pos = new Int32Array(rows)
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3 }
for (let rep = 0; rep < 5; rep++) {
  rmSync("/tmp/prof", { recursive: true, force: true })
  const c0 = cpu(), t0 = performance.now()
  const w = await ActivationWriter.open("/tmp/prof", { dModel: d })
  for (let r0 = 0; r0 < rows; r0 += 100) for (let l = 0; l < L; l++) await w.write({ checkpoint: 0, layer: l, positions: pos.subarray(r0, r0 + 100), seqIds: pos.subarray(r0, r0 + 100), concepts: pos.subarray(r0, r0 + 100), vectors: vec.subarray(r0 * d, (r0 + 100) * d) })
  await w.close()
  const c1 = cpu(), t1 = performance.now()
  const r = await ActivationReader.open("/tmp/prof")
  for (let l = 0; l < L; l++) await r.read({ checkpoint: 0, layer: l })
  const c2 = cpu(), t2 = performance.now()
  const mb = rows * d * 4 * L / 1e6
  console.log(`write wall ${(mb / (t1 - t0) * 1000).toFixed(0)} MB/s cpu ${(mb / (c1 - c0) * 1000).toFixed(0)} MB/cpu-s | read wall ${(mb / (t2 - t1) * 1000).toFixed(0)} MB/s cpu ${(mb / (c2 - c1) * 1000).toFixed(0)} MB/cpu-s`)
}
