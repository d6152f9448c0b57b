/**
 * Across seeds: the headline numbers of every cell of a sweep side by side, their median / min / max,
 * and which seeds meet the emergence criteria. A single run of a mid-training preset is one draw of
 * a noisy trajectory (float rounding alone acts like a new seed), so a claim about a configuration is
 * a claim about this table, not about one report.
 *
 * Written as `seeds.json` and `seeds.md` beside the per-seed report folders.
 */
import { fmtNum } from "./figures/common.js"
import type { Summary } from "./summary.js"

/** The criteria for "the mechanism shows" (every one must hold for a seed to count); the pipeline's config holds their values. */
export interface EmergenceCriteria {
  /** every concept's final normalised MSE at most this */
  readonly maxFinalNmse: number
  /** held-out TD at the query token at the first checkpoint at most chance + this (chance = 1 / number of concepts) */
  readonly maxTdFirstAboveChance: number
  /** held-out TD at the query token at the final checkpoint at least this */
  readonly minTdFinal: number
  /** patching at the final checkpoint: mean off-diagonal NMSE at least this multiple of the self-patch mean */
  readonly minPatchingRatio: number
  /** every basis's loss-TD rate correlation significant at this level (surrogate p-value) */
  readonly maxCouplingPValue: number
}


export interface SeedMetric {
  readonly name: string
  /** [seed] in the order of `seeds` (NaN where a run has no value, e.g. patching not run) */
  readonly values: number[]
  /** over the finite values; NaN when there are none */
  readonly median: number
  readonly min: number
  readonly max: number
}

export interface SeedCheck {
  readonly name: string
  readonly value: number
  readonly pass: boolean
}

export interface SeedAggregate {
  readonly config: string
  readonly seeds: number[]
  readonly metrics: SeedMetric[]
  readonly criteria: EmergenceCriteria
  readonly perSeed: { seed: number; checks: SeedCheck[]; allPass: boolean }[]
  /** how many seeds meet every criterion */
  readonly seedsPassingAll: number
}

/** Median of the finite values (mean of the middle two for an even count); NaN when none are finite. */
export function median(values: readonly number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const m = v.length >> 1
  return v.length % 2 === 1 ? v[m] : (v[m - 1] + v[m]) / 2
}

const metric = (name: string, values: number[]): SeedMetric => {
  const finite = values.filter(Number.isFinite)
  return {
    name,
    values,
    median: median(values),
    min: finite.length ? Math.min(...finite) : NaN,
    max: finite.length ? Math.max(...finite) : NaN
  }
}

/** Metric names other tools read back (the diversity figure). */
export const TD_FIRST = "query-token TD first checkpoint (held-out)"
export const TD_FINAL = "query-token TD final checkpoint (held-out)"
export const PATCH_OFF_BASELINE = "patching off-diagonal / baseline (final)"

const finalPatching = (s: Summary) => s.patching?.checkpoints.find((c) => c.phase === "final") ?? null

const worstNmse = (s: Summary) => (s.finalNmsePerConcept.length ? Math.max(...s.finalNmsePerConcept) : NaN)

export function aggregateSeeds(
  config: string,
  runs: readonly { seed: number; summary: Summary }[],
  criteria: EmergenceCriteria
): SeedAggregate {
  if (runs.length === 0) throw new RangeError("aggregateSeeds needs at least one run")
  const col = (f: (s: Summary) => number) => runs.map((r) => f(r.summary))
  const metrics = [
    metric(TD_FIRST, col((s) => s.td.queryToken.first)),
    metric(TD_FINAL, col((s) => s.td.queryToken.final)),
    metric("query-token TD layer", col((s) => s.td.queryToken.layer)),
    metric("worst final NMSE over concepts", col(worstNmse)),
    metric("model NMSE / least squares (query)", col((s) => s.nmse.model / s.nmse.leastSquares)),
    metric("model NMSE / Bayes-optimal (query)", col((s) => s.nmse.model / s.nmse.bayesOptimal)),
    metric("bases with coupling p <= " + criteria.maxCouplingPValue, col((s) => s.coupling.perBasis.filter((b) => b.pValue <= criteria.maxCouplingPValue).length)),
    metric(PATCH_OFF_BASELINE, col((s) => finalPatching(s)?.offDiagonalOverBaseline ?? NaN)),
    metric("patching self / baseline (final)", col((s) => finalPatching(s)?.selfOverBaseline ?? NaN)),
    metric("patching off-diagonal / self (final)", col((s) => finalPatching(s)?.offDiagonalOverSelf ?? NaN)),
    metric("two-cluster step", col((s) => s.twoCluster?.step ?? NaN)),
    // overlapping bases: the group structure at the final checkpoint beside the untrained model's (the null)
    ...(runs.every((r) => r.summary.td.groups)
      ? [
          metric("group TD final (groups as labels)", col((s) => s.td.groups?.groupTd ?? NaN)),
          metric("pairwise TD across - within groups (final)", col((s) => (s.td.groups ? s.td.groups.acrossPairwise - s.td.groups.withinPairwise : NaN))),
          metric("group TD, untrained model (null)", col((s) => s.td.groups?.atFirst?.groupTd ?? NaN)),
          metric("pairwise TD across - within groups, untrained model (null)", col((s) => (s.td.groups?.atFirst ? s.td.groups.atFirst.acrossPairwise - s.td.groups.atFirst.withinPairwise : NaN)))
        ]
      : [])
  ]
  const perSeed = runs.map(({ seed, summary: s }) => {
    const chance = s.finalNmsePerConcept.length ? 1 / s.finalNmsePerConcept.length : NaN
    const ratio = finalPatching(s)?.offDiagonalOverSelf ?? NaN
    const worstP = s.coupling.perBasis.length ? Math.max(...s.coupling.perBasis.map((b) => b.pValue)) : NaN
    const checks: SeedCheck[] = [
      { name: `every concept's final NMSE <= ${criteria.maxFinalNmse}`, value: worstNmse(s), pass: worstNmse(s) <= criteria.maxFinalNmse },
      { name: `query TD first <= chance + ${criteria.maxTdFirstAboveChance}`, value: s.td.queryToken.first, pass: s.td.queryToken.first <= chance + criteria.maxTdFirstAboveChance },
      { name: `query TD final >= ${criteria.minTdFinal}`, value: s.td.queryToken.final, pass: s.td.queryToken.final >= criteria.minTdFinal },
      { name: `patching off-diagonal / self >= ${criteria.minPatchingRatio}`, value: ratio, pass: ratio >= criteria.minPatchingRatio },
      { name: `every basis coupled, p <= ${criteria.maxCouplingPValue}`, value: worstP, pass: worstP <= criteria.maxCouplingPValue }
    ]
    return { seed, checks, allPass: checks.every((c) => c.pass) }
  })
  return { config, seeds: runs.map((r) => r.seed), metrics, criteria, perSeed, seedsPassingAll: perSeed.filter((p) => p.allPass).length }
}

/** seeds.json text: non-finite numbers as the strings "NaN" / "Infinity" / "-Infinity", as in summary.json. */
export const seedAggregateJson = (a: SeedAggregate): string =>
  JSON.stringify(a, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v), 2) + "\n"

const cell = (s: string): string => s.replace(/\|/g, "\\|")

/** seeds.md: one row per metric (every seed, then median / min / max), then the criteria per seed. */
export function seedAggregateMarkdown(a: SeedAggregate): string {
  const out: string[] = [`# ${a.config}: ${a.seeds.length} seed(s)`, ""]
  out.push(`${a.seedsPassingAll} of ${a.seeds.length} seed(s) meet every emergence criterion.`, "")
  out.push(`| quantity | ${a.seeds.map((s) => `seed ${s}`).join(" | ")} | median | min | max |`)
  out.push(`|---|${a.seeds.map(() => "---:").join("|")}|---:|---:|---:|`)
  for (const m of a.metrics) out.push(`| ${cell(m.name)} | ${m.values.map((v) => fmtNum(v)).join(" | ")} | ${fmtNum(m.median)} | ${fmtNum(m.min)} | ${fmtNum(m.max)} |`)
  out.push("", `| criterion | ${a.seeds.map((s) => `seed ${s}`).join(" | ")} |`, `|---|${a.seeds.map(() => "---").join("|")}|`)
  const names = a.perSeed[0].checks.map((c) => c.name)
  names.forEach((name, i) => out.push(`| ${cell(name)} | ${a.perSeed.map((p) => `${p.checks[i].pass ? "yes" : "no"} (${fmtNum(p.checks[i].value)})`).join(" | ")} |`))
  out.push("", "Per-seed reports: " + a.seeds.map((s) => `[seed ${s}](seed-${s}/report.html)`).join(" · "), "")
  return out.join("\n")
}
