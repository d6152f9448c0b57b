import { Rng } from "@conceptscope/core"
import { halfwayCrossing, pearson } from "./statistics.js"
import { fail } from "./validate.js"

/**
 * Does a concept's decodability rise when its loss falls? Per concept, over checkpoints:
 *
 * - the step where the loss falls halfway (start to end) and the step where the concept's TD rises
 *   halfway, and their lag (TD minus loss; positive = TD rises later);
 * - the Pearson correlation between the changes of -loss and of TD over the checkpoint intervals
 *   (one increment per interval). Measurement noise on a checkpoint's loss or TD does not depend on how
 *   far apart checkpoints are, so raw increments have the same noise scale in every interval; dividing
 *   them by the interval's length (in steps or log steps) would give the short intervals huge noisy
 *   rates that dominate the correlation;
 * - for each, a null distribution from the same curves with their timing destroyed:
 *   - correlation: Fourier phase-randomised surrogates of the TD increments (Theiler et al. 1992):
 *     the increments' spectrum, hence their autocorrelation, is kept and their alignment with the loss is
 *     random. Differences of noisy levels are negatively autocorrelated (lag-1 -0.5 for white noise),
 *     which inflates the spread of the correlation under independence (Bartlett); a plain
 *     permutation ignores that and rejects too often. On white noise at the training stage's checkpoint
 *     grid, the share of p <= 0.05 is 0.063 with these surrogates, 0.100 for a permutation of the
 *     increments and 0.152 for a permutation of rates per log step (1,000 simulations,
 *     `tools/src/coupling-calibration.ts`);
 *   - lag: the TD increments circularly shifted, the curve rebuilt from them (same start, same end).
 *   p is the share of null draws at least as coupled as the observed curves, counting the observation
 *   itself ((1 + hits) / (1 + draws)).
 *
 * Two curves that merely both move with training time (a smooth loss decay beside an unrelated TD
 * ramp, or a TD rise long after the loss drop) have correlated levels, so a rank correlation of the
 * levels calls them coupled; their increments are not aligned, and these statistics report them as not
 * significant.
 */
export interface CouplingOptions {
  /** phase-randomised surrogates of the TD increments behind the correlation's p-value (default 999) */
  readonly surrogates?: number
  /** seed of the surrogates (default 0) */
  readonly seed?: number
}

export interface ConceptCoupling {
  readonly lossHalfStep: number | null
  readonly tdHalfStep: number | null
  /** tdHalfStep - lossHalfStep; null when either never crosses halfway */
  readonly lagSteps: number | null
  /** Pearson correlation of the per-interval changes of -loss and TD; NaN when either is constant */
  readonly rateCorrelation: number
  /** share of surrogate TD increments whose correlation reaches the observed one; 1 when it is NaN */
  readonly pValue: number
  /** share of circular shifts whose |lag| is at most the observed |lag|; null without a lag */
  readonly lagPValue: number | null
}

const increments = (values: ArrayLike<number>, sign: number): number[] =>
  Array.from({ length: values.length - 1 }, (_, i) => sign * (values[i + 1] - values[i]))

/**
 * Draws of series with the amplitude spectrum of `x` (its mean removed) and uniformly random phases:
 * real-valued (conjugate-symmetric phases; the Nyquist term of an even length keeps its amplitude with a
 * random sign). Each draw has the same periodogram, hence the same circular autocorrelation, as `x`.
 */
export function phaseSurrogates(x: readonly number[], rng: Rng): () => number[] {
  const n = x.length
  const mean = x.reduce((s, v) => s + v, 0) / n
  const cos = Array.from({ length: n * n }, (_, i) => Math.cos((2 * Math.PI * Math.floor(i / n) * (i % n)) / n))
  const sin = Array.from({ length: n * n }, (_, i) => Math.sin((2 * Math.PI * Math.floor(i / n) * (i % n)) / n))
  const amp: number[] = [] // amp[k] = |X_k|, k = 0 .. n-1
  for (let k = 0; k < n; k++) {
    let re = 0
    let im = 0
    for (let t = 0; t < n; t++) {
      re += (x[t] - mean) * cos[k * n + t]
      im -= (x[t] - mean) * sin[k * n + t]
    }
    amp.push(Math.hypot(re, im))
  }
  const half = Math.floor((n - 1) / 2)
  return () => {
    const phase = new Float64Array(n)
    for (let k = 1; k <= half; k++) phase[k] = 2 * Math.PI * rng.uniform()
    const nyquistSign = n % 2 === 0 && rng.uniform() < 0.5 ? -1 : 1
    const out = new Array<number>(n)
    for (let t = 0; t < n; t++) {
      // x_t = (1/n) sum_k |X_k| cos(2 pi k t / n + phi_k), with phi_{n-k} = -phi_k
      let s = 0
      for (let k = 1; k <= half; k++) {
        const c = cos[k * n + t]
        const sn = sin[k * n + t]
        s += 2 * amp[k] * (c * Math.cos(phase[k]) - sn * Math.sin(phase[k]))
      }
      if (n % 2 === 0) s += nyquistSign * amp[n / 2] * cos[(n / 2) * n + t]
      out[t] = s / n
    }
    return out
  }
}

/** The coupling of one concept's loss and TD curves (same checkpoints, `steps` increasing). */
export function conceptCoupling(steps: ArrayLike<number>, loss: ArrayLike<number>, td: ArrayLike<number>, opts: CouplingOptions = {}): ConceptCoupling {
  const fn = "conceptCoupling"
  if (loss.length !== steps.length || td.length !== steps.length) fail(fn, "loss/td", `need one value per step (${steps.length}), got ${loss.length} and ${td.length}`)
  if (steps.length < 3) fail(fn, "steps", `need at least 3 checkpoints, got ${steps.length}`)
  for (let i = 0; i < steps.length; i++) if (!Number.isFinite(loss[i]) || !Number.isFinite(td[i])) fail(fn, "loss/td", `non-finite value at checkpoint ${i}`)
  const lossHalfStep = halfwayCrossing(steps, loss)
  const tdHalfStep = halfwayCrossing(steps, td)
  const lagSteps = lossHalfStep === null || tdHalfStep === null ? null : tdHalfStep - lossHalfStep
  const lossInc = increments(loss, -1)
  const tdInc = increments(td, 1)
  const rateCorrelation = pearson(lossInc, tdInc)
  const draws = opts.surrogates ?? 999
  let hits = 0
  if (Number.isFinite(rateCorrelation)) {
    const surrogate = phaseSurrogates(tdInc, new Rng(opts.seed ?? 0))
    for (let d = 0; d < draws; d++) {
      const r = pearson(lossInc, surrogate())
      if (Number.isFinite(r) && r >= rateCorrelation) hits++
    }
  }
  const pValue = Number.isFinite(rateCorrelation) ? (1 + hits) / (1 + draws) : 1
  let lagPValue: number | null = null
  if (lagSteps !== null) {
    const n = tdInc.length
    let lagHits = 0
    for (let shift = 1; shift < n; shift++) {
      // the TD curve rebuilt from its increments shifted by `shift` intervals (same start, same end)
      const curve = [td[0]]
      for (let i = 0; i < n; i++) curve.push(curve[i] + tdInc[(i + shift) % n])
      const half = halfwayCrossing(steps, curve)
      if (half !== null && Math.abs(half - lossHalfStep!) <= Math.abs(lagSteps)) lagHits++
    }
    lagPValue = (1 + lagHits) / n
  }
  return { lossHalfStep, tdHalfStep, lagSteps, rateCorrelation, pValue, lagPValue }
}
