import { Rng } from "@conceptscope/core"
import { halfwayCrossing, pearson } from "./statistics.js"
import { fail } from "./validate.js"

/**
 * Does a concept's decodability rise when its loss falls? Per concept, over checkpoints:
 *
 * - the step where the loss falls halfway (start to end) and the step where the concept's TD rises
 *   halfway, and their lag (TD minus loss; positive = TD rises later);
 * - the Pearson correlation between the rates of change of -loss and of TD over the checkpoint
 *   intervals, per unit of log training time (change divided by the interval's length in log(1 + step),
 *   so that uneven checkpoint spacing does not correlate the two by itself, and the few steep intervals
 *   right after initialisation, where every basis's loss falls to the generic plateau, weigh as much
 *   log time as they span rather than dominating);
 * - for each, a null distribution from the same curves with their timing destroyed: the TD rates are
 *   permuted across intervals (for the correlation) and circularly shifted with the TD curve rebuilt
 *   from them (for the lag). p is the share of null draws at least as coupled as the observed curves,
 *   counting the observation itself ((1 + hits) / (1 + draws)).
 *
 * Two curves that merely both move with training time (a smooth loss decay beside an unrelated TD
 * ramp, or a TD rise long after the loss drop) have correlated levels, so a rank correlation of the
 * levels calls them coupled; their rates are not aligned, and these statistics report them as not
 * significant.
 */
export interface CouplingOptions {
  /** permutations of the TD rates for the correlation's null (default 999) */
  readonly permutations?: number
  /** seed of the permutations (default 0) */
  readonly seed?: number
}

export interface ConceptCoupling {
  readonly lossHalfStep: number | null
  readonly tdHalfStep: number | null
  /** tdHalfStep - lossHalfStep; null when either never crosses halfway */
  readonly lagSteps: number | null
  /** Pearson correlation of the rates of -loss and TD over checkpoint intervals; NaN when either is constant */
  readonly rateCorrelation: number
  /** share of permuted TD rates whose correlation is at least the observed one; 1 when it is NaN */
  readonly pValue: number
  /** share of circular shifts whose |lag| is at most the observed |lag|; null without a lag */
  readonly lagPValue: number | null
}

const logTime = (step: number) => Math.log1p(Math.max(0, step))

const rates = (steps: ArrayLike<number>, values: ArrayLike<number>, sign: number): number[] =>
  Array.from({ length: values.length - 1 }, (_, i) => (sign * (values[i + 1] - values[i])) / (logTime(steps[i + 1]) - logTime(steps[i])))

/** The coupling of one concept's loss and TD curves (same checkpoints, `steps` increasing). */
export function conceptCoupling(steps: ArrayLike<number>, loss: ArrayLike<number>, td: ArrayLike<number>, opts: CouplingOptions = {}): ConceptCoupling {
  const fn = "conceptCoupling"
  if (loss.length !== steps.length || td.length !== steps.length) fail(fn, "loss/td", `need one value per step (${steps.length}), got ${loss.length} and ${td.length}`)
  if (steps.length < 3) fail(fn, "steps", `need at least 3 checkpoints, got ${steps.length}`)
  for (let i = 0; i < steps.length; i++) if (!Number.isFinite(loss[i]) || !Number.isFinite(td[i])) fail(fn, "loss/td", `non-finite value at checkpoint ${i}`)
  const lossHalfStep = halfwayCrossing(steps, loss)
  const tdHalfStep = halfwayCrossing(steps, td)
  const lagSteps = lossHalfStep === null || tdHalfStep === null ? null : tdHalfStep - lossHalfStep
  const lossRate = rates(steps, loss, -1)
  const tdRate = rates(steps, td, 1)
  const rateCorrelation = pearson(lossRate, tdRate)
  const rng = new Rng(opts.seed ?? 0)
  const draws = opts.permutations ?? 999
  let hits = 0
  if (Number.isFinite(rateCorrelation))
    for (let d = 0; d < draws; d++) {
      const perm = rng.shuffle(tdRate)
      const r = pearson(lossRate, perm)
      if (Number.isFinite(r) && r >= rateCorrelation) hits++
    }
  const pValue = Number.isFinite(rateCorrelation) ? (1 + hits) / (1 + draws) : 1
  let lagPValue: number | null = null
  if (lagSteps !== null) {
    const n = tdRate.length
    let lagHits = 0
    for (let shift = 1; shift < n; shift++) {
      // the TD curve rebuilt from its rates shifted by `shift` intervals (same start, same end)
      const curve = [td[0]]
      for (let i = 0; i < n; i++) curve.push(curve[i] + tdRate[(i + shift) % n] * (logTime(steps[i + 1]) - logTime(steps[i])))
      const half = halfwayCrossing(steps, curve)
      if (half !== null && Math.abs(half - lossHalfStep!) <= Math.abs(lagSteps)) lagHits++
    }
    lagPValue = (1 + lagHits) / n
  }
  return { lossHalfStep, tdHalfStep, lagSteps, rateCorrelation, pValue, lagPValue }
}
