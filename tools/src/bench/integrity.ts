import { ArtifactStoreLive, defineStage, runStage, verifyStore } from "@conceptscope/artifacts"
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/**
 * The cost of the store's integrity checks: a stage writes `mb` MB (4 files of random bytes) through the
 * store; the commit lists, sizes and hashes (xxhash64) every file, and `verifyStore` re-reads and
 * hashes them. Both are reported as a ratio to the stage's own write of the same bytes (best of `reps`).
 */
export interface IntegrityBench {
  readonly mb: number
  readonly writeMs: number
  readonly commitMs: number
  readonly verifyMs: number
}

export async function benchIntegrity(mb = 256, reps = 3): Promise<IntegrityBench> {
  const bytes = Math.round((mb * 1e6) / 4)
  const parts = Array.from({ length: 4 }, (_, i) => {
    const b = Buffer.allocUnsafe(bytes)
    for (let j = 0; j < bytes; j += 4) b.writeUInt32LE((Math.imul(j + i, 2654435761) ^ (j >>> 7)) >>> 0, j)
    return b
  })
  let best = { writeMs: Infinity, commitMs: Infinity, verifyMs: Infinity }
  for (let r = 0; r < reps; r++) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "cs-bench-integrity-"))
    let writeMs = 0
    const stage = defineStage({
      name: "blob",
      version: "1",
      schemaVersion: 1,
      params: Schema.Struct({ rep: Schema.Int }),
      meta: Schema.Struct({}),
      run: ({ dir }) =>
        Effect.sync(() => {
          const t = performance.now()
          parts.forEach((p, i) => fs.writeFileSync(path.join(dir, `part-${i}.bin`), p))
          writeMs = performance.now() - t
          return { rowCount: parts.length, meta: {} }
        })
    })
    const t0 = performance.now()
    await Effect.runPromise(runStage(stage, { rep: r }, {}).pipe(Effect.provide(ArtifactStoreLive(root))))
    const commitMs = performance.now() - t0 - writeMs
    const t1 = performance.now()
    const v = await Effect.runPromise(verifyStore(root))
    const verifyMs = performance.now() - t1
    if (v.problems.length) throw new Error(`verify found ${v.problems.length} problem(s) in a fresh store`)
    fs.rmSync(root, { recursive: true, force: true })
    best = { writeMs: Math.min(best.writeMs, writeMs), commitMs: Math.min(best.commitMs, commitMs), verifyMs: Math.min(best.verifyMs, verifyMs) }
  }
  return { mb, ...best }
}
