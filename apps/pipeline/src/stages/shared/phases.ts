import { Schema } from "effect"
import type { CurvePoint } from "./tables.js"

/**
 * Where in training a checkpoint lies, as the report names it: the early checkpoint is the first after
 * step 0; the two-cluster checkpoint is detected from the per-basis loss (some bases learned, the others
 * not: the stage the study patches at); "middle" (the median saved step) stands in for it in the
 * embeddings when no such stage exists; the final one is the last.
 */
export const Phase = Schema.Literal("early", "middle", "two-cluster", "final")
export type Phase = typeof Phase.Type

export const PhaseCheckpoints = Schema.Array(Schema.Struct({ step: Schema.Int, phase: Phase }))
export type PhaseCheckpoints = typeof PhaseCheckpoints.Type

/** Per-basis normalised test MSE averaged over example positions k >= 1 (k = 0 has no context). */
export function lossByStep(curves: readonly Pick<CurvePoint, "step" | "basis" | "k" | "nmse">[]) {
  const acc = new Map<string, { step: number; concept: number; sum: number; n: number }>()
  for (const c of curves) {
    if (c.basis < 0 || c.k < 1) continue
    const key = `${c.step}:${c.basis}`
    const a = acc.get(key) ?? { step: c.step, concept: c.basis, sum: 0, n: 0 }
    a.sum += c.nmse
    a.n++
    acc.set(key, a)
  }
  return [...acc.values()].map((a) => ({ step: a.step, concept: a.concept, nmse: a.sum / a.n })).sort((a, b) => a.step - b.step || a.concept - b.concept)
}

/** The two-cluster stage: its step and the bases learned there (the others are not). */
export const TwoCluster = Schema.NullOr(Schema.Struct({ step: Schema.Int, learned: Schema.Array(Schema.Int), lossRatio: Schema.Number }))
export type TwoCluster = typeof TwoCluster.Type

/**
 * Detect the two-cluster stage from per-basis loss curves (loss [C][T] at `steps`, ascending). A basis
 * counts as learned at a checkpoint once its loss is within `learnedFactor` times its lowest loss,
 * provided that lowest loss is at most half its first (a basis that never drops is never learned; the
 * factor, not a halfway point, so that the common fall to the generic plateau right after initialisation
 * does not count as learning). Candidates are checkpoints where some but not all bases are learned and
 * the unlearned bases' mean loss is at least `minLossRatio` times the learned ones'. The most balanced
 * split wins (the largest min(learned, unlearned)); among those, the checkpoint in the middle of the
 * longest run with one learned set. Null when no checkpoint qualifies (bases learned together, or none).
 */
export function detectTwoCluster(steps: readonly number[], loss: readonly (readonly number[])[], opts: { readonly learnedFactor?: number; readonly minLossRatio?: number } = {}): TwoCluster {
  const factor = opts.learnedFactor ?? 3
  const minRatio = opts.minLossRatio ?? 2
  const C = loss.length
  const T = steps.length
  const half = loss.map((l) => {
    const lo = Math.min(...l)
    return lo <= 0.5 * l[0] ? factor * lo : -Infinity
  })
  const cand: { t: number; balance: number; learned: number[]; ratio: number }[] = []
  for (let t = 0; t < T; t++) {
    const learned = loss.flatMap((l, c) => (l[t] <= half[c] ? [c] : []))
    if (learned.length === 0 || learned.length === C) continue
    const mean = (cs: number[]) => cs.reduce((a, c) => a + loss[c][t], 0) / cs.length
    const rest = Array.from({ length: C }, (_, c) => c).filter((c) => !learned.includes(c))
    const ratio = mean(rest) / Math.max(mean(learned), 1e-12)
    if (ratio >= minRatio) cand.push({ t, balance: Math.min(learned.length, C - learned.length), learned, ratio })
  }
  if (cand.length === 0) return null
  const best = Math.max(...cand.map((c) => c.balance))
  const top = cand.filter((c) => c.balance === best)
  // the longest run of consecutive checkpoints with the best balance and the same learned set
  let run: typeof top = []
  let cur: typeof top = []
  for (const c of top) {
    const prev = cur[cur.length - 1]
    cur = prev && prev.t === c.t - 1 && prev.learned.join() === c.learned.join() ? [...cur, c] : [c]
    if (cur.length > run.length) run = cur
  }
  const mid = run[Math.floor((run.length - 1) / 2)]
  return { step: steps[mid.t], learned: mid.learned, lossRatio: mid.ratio }
}

/** The early, middle and final checkpoints of a run's saved steps (by index in the list). */
export function phaseSteps(steps: readonly number[]): { early: number; middle: number; final: number } {
  const n = steps.length
  return { early: steps[Math.min(1, n - 1)], middle: steps[Math.floor((n - 1) / 2)], final: steps[n - 1] }
}

/**
 * Early, two-cluster (or middle when none was detected, if `middleFallback`) and final, without repeats:
 * where two fall on one step (few checkpoints) the later phase names it, so the last step is always "final".
 */
export function phaseCheckpoints(steps: readonly number[], twoCluster: TwoCluster, opts: { readonly early: boolean; readonly middleFallback: boolean }): PhaseCheckpoints {
  const { early, middle, final } = phaseSteps(steps)
  const marks: { step: number; phase: Phase }[] = []
  if (opts.early) marks.push({ step: early, phase: "early" })
  if (twoCluster && twoCluster.step !== final) marks.push({ step: twoCluster.step, phase: "two-cluster" })
  else if (opts.middleFallback) marks.push({ step: middle, phase: "middle" })
  marks.push({ step: final, phase: "final" })
  return marks.filter((m, i) => marks.findLastIndex((x) => x.step === m.step) === i)
}
