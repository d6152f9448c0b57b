/**
 * Throughput of the activation store on float32 vectors: write `layers` layers of `rows` x `dModel` in
 * batches (interleaved by layer, as a model runner would), close, then read every layer back.
 * Runs in a fresh subdirectory of `dir`, removed afterwards. Reads follow the writes, so the
 * page cache is warm. Repeated `reps` times (a fresh store each time); the medians are returned.
 * MB = 1e6 bytes of vector data.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises"
import { join } from "node:path"
import { ActivationReader, ActivationWriter } from "@conceptscope/activation-store"

export interface BenchOptions {
  rows: number
  dModel: number
  dir: string
  layers?: number // default 4
  batchRows?: number // default 100
  seed?: number // default 0
  reps?: number // default 3
}

export interface BenchResult {
  writeMBs: number
  readMBs: number
}

export async function benchActivationStore(opts: BenchOptions): Promise<BenchResult> {
  const { rows, dModel } = opts
  const layers = opts.layers ?? 4
  const batchRows = opts.batchRows ?? 100
  const reps = opts.reps ?? 3
  // xorshift32 from the seed: cheap data, so the bench measures IO rather than generation
  let s = ((opts.seed ?? 0) ^ 0x9e3779b9) >>> 0 || 1
  const vectors = new Float32Array(rows * dModel) // [rows, dModel]
  for (let i = 0; i < vectors.length; i++) {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    vectors[i] = s / 2 ** 32 - 0.5
  }
  const positions = Int32Array.from({ length: rows }, (_, i) => i % 64) // [rows]
  const seqIds = Int32Array.from({ length: rows }, (_, i) => Math.floor(i / 64)) // [rows]
  const concepts = Int32Array.from({ length: rows }, (_, i) => i % 7) // [rows]
  const mb = (layers * rows * dModel * 4) / 1e6
  await mkdir(opts.dir, { recursive: true })
  const writes: number[] = []
  const reads: number[] = []
  for (let rep = 0; rep < reps; rep++) {
    const dir = await mkdtemp(join(opts.dir, "activation-bench-"))
    try {
      const t0 = performance.now()
      const w = await ActivationWriter.open(dir, { dModel })
      for (let r0 = 0; r0 < rows; r0 += batchRows) {
        const r1 = Math.min(rows, r0 + batchRows)
        for (let layer = 0; layer < layers; layer++)
          await w.write({
            checkpoint: 0,
            layer,
            positions: positions.subarray(r0, r1),
            seqIds: seqIds.subarray(r0, r1),
            concepts: concepts.subarray(r0, r1),
            vectors: vectors.subarray(r0 * dModel, r1 * dModel)
          })
      }
      await w.close()
      const t1 = performance.now()
      const reader = await ActivationReader.open(dir)
      let wrong = 0
      for (let layer = 0; layer < layers; layer++) {
        const got = await reader.read({ checkpoint: 0, layer })
        if (got.n !== rows || got.vectors[got.vectors.length - 1] !== vectors[vectors.length - 1]) wrong++
      }
      const t2 = performance.now()
      if (wrong > 0) throw new Error(`benchActivationStore: ${wrong} layers read back wrong`)
      writes.push((mb * 1000) / (t1 - t0))
      reads.push((mb * 1000) / (t2 - t1))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  return { writeMBs: median(writes), readMBs: median(reads) }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
