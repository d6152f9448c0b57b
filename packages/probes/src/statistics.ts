import { fail } from "./validate.js"

type Numbers = ArrayLike<number>

function checkPair(fn: string, a: Numbers, b: Numbers, min = 2): void {
  if (a.length !== b.length) fail(fn, "b", `length ${b.length} differs from length ${a.length} of the first series`)
  if (a.length < min) fail(fn, "a", `need at least ${min} values, got ${a.length}`)
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) fail(fn, "a/b", `non-finite value at index ${i}`)
  }
}

const mean = (a: Numbers): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]
  return s / a.length
}

/** Pearson correlation; NaN when either series is constant. */
export function pearson(a: Numbers, b: Numbers): number {
  checkPair("pearson", a, b)
  const ma = mean(a)
  const mb = mean(b)
  let sab = 0
  let saa = 0
  let sbb = 0
  for (let i = 0; i < a.length; i++) {
    sab += (a[i] - ma) * (b[i] - mb)
    saa += (a[i] - ma) ** 2
    sbb += (b[i] - mb) ** 2
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb)
}

/** Ranks 1..n, tied values sharing the average of their ranks. */
export function averageRanks(a: Numbers): Float64Array {
  const order = Array.from({ length: a.length }, (_, i) => i).sort((i, j) => a[i] - a[j] || i - j)
  const ranks = new Float64Array(a.length)
  for (let s = 0; s < order.length; ) {
    let e = s
    while (e + 1 < order.length && a[order[e + 1]] === a[order[s]]) e++
    const r = (s + e) / 2 + 1
    for (let t = s; t <= e; t++) ranks[order[t]] = r
    s = e + 1
  }
  return ranks
}

/** Spearman rank correlation: Pearson correlation of average ranks (ties share ranks); NaN if a series is constant. */
export function spearman(a: Numbers, b: Numbers): number {
  checkPair("spearman", a, b)
  return pearson(averageRanks(a), averageRanks(b))
}

/**
 * Least-squares line y = slope x + intercept; r2 = 1 - SS_res / SS_tot (1 when y is constant and fit
 * exactly). Slope and intercept are NaN when x is constant.
 */
export function linearFit(x: Numbers, y: Numbers): { slope: number; intercept: number; r2: number } {
  checkPair("linearFit", x, y)
  const mx = mean(x)
  const my = mean(y)
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my)
    sxx += (x[i] - mx) ** 2
    syy += (y[i] - my) ** 2
  }
  if (sxx === 0) return { slope: NaN, intercept: NaN, r2: NaN }
  const slope = sxy / sxx
  const intercept = my - slope * mx
  let ssRes = 0
  for (let i = 0; i < x.length; i++) ssRes += (y[i] - (slope * x[i] + intercept)) ** 2
  const r2 = syy === 0 ? (ssRes === 0 ? 1 : 0) : 1 - ssRes / syy
  return { slope, intercept, r2 }
}

/**
 * First step at which a curve crosses the midpoint between its start level `from` and end level
 * `to` (defaults: the first and last values), by linear interpolation between the two samples that
 * bracket it; the crossing is "value <= mid" for a falling curve (from > to), "value >= mid" for a
 * rising one. Returns null when from == to or the curve never reaches the midpoint. Used to say
 * when a loss drops or a TD rises. `steps` must be increasing.
 */
export function halfwayCrossing(
  steps: Numbers,
  values: Numbers,
  opts?: { from?: number; to?: number }
): number | null {
  const fn = "halfwayCrossing"
  checkPair(fn, steps, values, 1)
  for (let i = 1; i < steps.length; i++) if (!(steps[i] > steps[i - 1])) fail(fn, "steps", `not increasing at index ${i}`)
  const from = opts?.from ?? values[0]
  const to = opts?.to ?? values[values.length - 1]
  if (from === to) return null
  const mid = (from + to) / 2
  const falling = to < from
  const reached = (v: number) => (falling ? v <= mid : v >= mid)
  for (let i = 0; i < values.length; i++) {
    if (!reached(values[i])) continue
    if (i === 0) return steps[0]
    const v0 = values[i - 1]
    const v1 = values[i]
    return steps[i - 1] + ((mid - v0) / (v1 - v0)) * (steps[i] - steps[i - 1])
  }
  return null
}

/**
 * Nominal chance level of TD: 1 / nClasses (a classifier guessing uniformly). The leave-one-out kNN
 * on balanced random labels lands slightly below it, since a point's own class has one member fewer
 * among the others (per-neighbour agreement (N - 1) / (C N - 1) with N points per class).
 */
export function chanceTD(nClasses: number): number {
  if (!Number.isInteger(nClasses) || nClasses < 1) fail("chanceTD", "nClasses", `must be a positive integer, got ${nClasses}`)
  return 1 / nClasses
}
