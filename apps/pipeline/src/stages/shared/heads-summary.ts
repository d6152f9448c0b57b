import { type Intervention, progress } from "@conceptscope/core"
import type { HeadsSummary } from "./llm-tables.js"

/**
 * Every (ablation, layer, head) of an L x H model in order, with the intervention that ablates that head
 * alone at every position: "zero" sets its output z (before W_O) to 0, "mean" to `meanZ(l, h)`. `visit`
 * runs the model with it; progress is shown under `label`.
 */
export function forEachHeadAblation(
  ablations: readonly ("zero" | "mean")[],
  L: number,
  H: number,
  meanZ: (l: number, h: number) => number[],
  label: string,
  visit: (ablation: string, l: number, h: number, iv: Intervention) => void
): void {
  const bar = progress(label, L * H * ablations.length)
  for (const ablation of ablations)
    for (let l = 0; l < L; l++)
      for (let h = 0; h < H; h++) {
        const hook = `blocks.${l}.hook_attn_out` as const
        visit(ablation, l, h, ablation === "zero" ? { hook, positions: "all", op: "zero", head: h } : { hook, positions: "all", op: "replace", vector: meanZ(l, h), head: h })
        bar.tick(1, `${ablation} L${l}H${h}`)
      }
  bar.done()
}

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
