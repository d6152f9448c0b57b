/**
 * How often does the loss-TD coupling test call two unrelated curves coupled? Simulates loss and TD
 * curves on the training stage's checkpoint grid (24 checkpoints, quadratic spacing, 5,000 steps) under
 * null models (nothing coupled) and one coupled model, and prints the share of p <= 0.05 for the
 * shipped test (`conceptCoupling`: increments, phase-randomised surrogates) beside two permutation tests
 * (increments; rates per unit of log step).
 *
 *   npx tsx --conditions=@conceptscope/source tools/src/coupling-calibration.ts [simulations=300]
 */
import { Rng } from "@conceptscope/core"
import { checkpointSchedule } from "@conceptscope/finetuners"
import { conceptCoupling, pearson } from "@conceptscope/probes"

const sims = Number(process.argv[2] ?? 300)
const T = 5000
const steps = checkpointSchedule(T, 24)
const sigmoid = (s: number, at: number, w: number) => 1 / (1 + Math.exp(-(s - at) / w))
const diff = (v: readonly number[], sign: number, per?: (i: number) => number) => v.slice(1).map((x, i) => (sign * (x - v[i])) / (per ? per(i) : 1))
const logSpan = (i: number) => Math.log1p(steps[i + 1]) - Math.log1p(steps[i])

function permutationP(a: number[], b: number[], rng: Rng, draws = 499): number {
  const r = pearson(a, b)
  if (!Number.isFinite(r)) return 1
  let hits = 0
  for (let d = 0; d < draws; d++) if (pearson(a, rng.shuffle(b)) >= r) hits++
  return (1 + hits) / (1 + draws)
}

type Curves = { loss: number[]; td: number[] }
const models: Record<string, (rng: Rng) => Curves> = {
  "null: flat curves, white noise": (r) => ({ loss: steps.map(() => 1 + 0.02 * r.normal()), td: steps.map(() => 0.25 + 0.03 * r.normal()) }),
  "null: loss decays, TD white noise": (r) => ({ loss: steps.map((s) => 0.5 + Math.exp(-s / 300) + 0.02 * r.normal()), td: steps.map(() => 0.25 + 0.03 * r.normal()) }),
  "null: unrelated TD ramp": (r) => ({ loss: steps.map((s) => 0.5 + Math.exp(-s / 1500) + 0.02 * r.normal()), td: steps.map((s) => 0.25 + (0.3 * s) / T + 0.03 * r.normal()) }),
  "null: independent random walks": (r) => {
    let l = 1
    let t = 0.25
    return steps.reduce<Curves>((c, s, i) => {
      const sd = 0.001 * Math.sqrt(i ? s - steps[i - 1] : 0)
      l += sd * r.normal()
      t += sd * r.normal()
      return { loss: [...c.loss, l], td: [...c.td, t] }
    }, { loss: [], td: [] })
  },
  "coupled: TD rises with the loss drop": (r) => {
    const at = 1000 + 3000 * r.uniform()
    return { loss: steps.map((s) => 1 - 0.5 * sigmoid(s, at, 200) + 0.02 * r.normal()), td: steps.map((s) => 0.25 + 0.3 * sigmoid(s, at + 50, 200) + 0.03 * r.normal()) }
  }
}

console.log(`share of p <= 0.05 over ${sims} simulations (${steps.length} checkpoints over ${T} steps)`)
console.log("| model | increments, surrogates (shipped) | increments, permutation | log-step rates, permutation |")
console.log("|---|---|---|---|")
for (const [name, draw] of Object.entries(models)) {
  const rng = new Rng(11)
  const hits = [0, 0, 0]
  for (let k = 0; k < sims; k++) {
    const { loss, td } = draw(rng)
    const ps = [
      conceptCoupling(steps, loss, td, { surrogates: 499, seed: k }).pValue,
      permutationP(diff(loss, -1), diff(td, 1), rng),
      permutationP(diff(loss, -1, logSpan), diff(td, 1, logSpan), rng)
    ]
    ps.forEach((p, i) => (hits[i] += p <= 0.05 ? 1 : 0))
  }
  console.log(`| ${name} | ${hits.map((h) => (h / sims).toFixed(3)).join(" | ")} |`)
}
