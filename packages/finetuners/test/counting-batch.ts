import { Rng } from "@conceptscope/core"
import type { LmBatch } from "../src/index.js"

/**
 * Rows that count upwards mod 8 from a random start (tokens 4..11): next-token prediction is learnable.
 * Drawn from `seedBase + step`; ids and targets [B*T] row-major.
 */
export function countingBatch(step: number, B = 8, T = 10, seedBase = 100): LmBatch {
  const rng = new Rng(seedBase + step)
  const ids = new Int32Array(B * T)
  const targets = new Int32Array(B * T).fill(-1)
  for (let b = 0; b < B; b++) {
    const start = rng.int(8)
    for (let t = 0; t < T; t++) ids[b * T + t] = 4 + ((start + t) % 8)
    for (let t = 0; t + 1 < T; t++) targets[b * T + t] = ids[b * T + t + 1]
  }
  return { ids, targets, B, T }
}
