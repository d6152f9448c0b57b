import type { HeadsSummary } from "./llm-tables.js"

/** HeadsSummary from per (layer, head, ablation, label) rows holding `<metric>` and `<metric>_base`. */
export function headsSummary(records: readonly Record<string, unknown>[], concepts: readonly string[], ablations: readonly string[], L: number, H: number, shots: number, metric: string): HeadsSummary {
  const change = (x: Record<string, unknown>) => (x[metric] as number) - (x[`${metric}_base`] as number)
  const mean = (xs: readonly number[]) => xs.reduce((a, v) => a + v, 0) / Math.max(1, xs.length)
  const grid = (rows: readonly Record<string, unknown>[], f: (x: Record<string, unknown>) => number) =>
    Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => mean(rows.filter((x) => x.layer === l && x.head === h).map(f))))
  return {
    shots,
    nLayers: L,
    nHeads: H,
    concepts: [...concepts],
    modes: ablations.map((ablation) => {
      const mine = records.filter((x) => x.ablation === ablation)
      return {
        ablation,
        lossChange: grid(mine, change),
        accuracyChange: "accuracy" in (mine[0] ?? {}) ? grid(mine, (x) => (x.accuracy as number) - (x.accuracy_base as number)) : [],
        perConcept: concepts.map((label) => ({ label, lossChange: grid(mine.filter((x) => x.label === label), change) })),
        topHead: concepts.map((label) => {
          const own = mine.filter((x) => x.label === label)
          const top = own.reduce((best, x) => (change(x) > change(best) ? x : best), own[0])
          return { label, layer: top.layer as number, head: top.head as number, lossChange: change(top) }
        })
      }
    })
  }
}
