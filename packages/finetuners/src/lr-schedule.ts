/**
 * Learning-rate schedules as pure functions of the update index, so a resumed run gets the same rate.
 *
 *   constant: lr
 *   cosine:   warmup, then lr * (f + (1 - f) * (1 + cos(pi * p)) / 2)
 *   linear:   warmup, then lr * (1 - (1 - f) * p)
 *
 * where p = (s - warmup) / (steps - warmup) in [0, 1] is the progress after warmup and f = `finalFactor`
 * (the rate at the last update, as a fraction of lr). Warmup is linear: update s < warmup runs at
 * lr * (s + 1) / warmup (never 0, so update 0 moves the weights).
 */
export type LrDecay = "constant" | "cosine" | "linear"

export interface LrSchedule {
  readonly decay: LrDecay
  readonly warmupSteps: number
  readonly finalFactor: number
}

export const constantLr: LrSchedule = { decay: "constant", warmupSteps: 0, finalFactor: 1 }

export function learningRateAt(schedule: LrSchedule, lr: number, step: number, steps: number): number {
  const { decay, warmupSteps: w, finalFactor: f } = schedule
  if (!(f >= 0 && f <= 1)) throw new RangeError(`finalFactor ${f} must lie in [0, 1]`)
  if (!Number.isInteger(w) || w < 0) throw new RangeError(`warmupSteps ${w} must be an integer >= 0`)
  if (step < w) return (lr * (step + 1)) / w
  if (decay === "constant") return lr
  const span = Math.max(1, steps - w)
  const p = Math.min(1, Math.max(0, (step - w) / span))
  return decay === "cosine" ? lr * (f + ((1 - f) * (1 + Math.cos(Math.PI * p))) / 2) : lr * (1 - (1 - f) * p)
}
