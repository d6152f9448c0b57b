import { ActivationReader } from "@conceptscope/activation-store"
import { type ArtifactRef, defineStage, tableFromRecords, writeJson } from "@conceptscope/artifacts"
import { progress } from "@conceptscope/core"
import { linearFit, pairwiseTD, taskDecodability, umap2 } from "@conceptscope/probes"
import { Effect, Schema } from "effect"
import { useTensorBackend } from "../backend.js"
import { stagePromise, stageTry, writeTable } from "./shared/io.js"
import { LmTdMeta, LmTdSummary } from "./shared/llm-summary.js"
import { LM_ACCURACY_SPEC, LM_EMBEDDINGS_SPEC, LM_TD_SPEC, heldOutFrom, readAnswers, readPrompts } from "./shared/llm-tables.js"

/**
 * TD of the LM's residual stream at the token before the answer, per condition ("icl", and "instructed"
 * for the prompting condition), shot count and layer: leave-one-out k-NN over all labels (the concepts
 * and Null). The peak layer is the layer with the highest mean TD over the plain-ICL shot counts on the
 * selection half of the items, never the embedding; the headline TD per shot count is read there on the
 * held-out half. At the peak layer: the pairwise TD matrix at each shot count, and the least-squares line
 * of accuracy on TD over concepts x shot counts (held-out TD, accuracy on every prompt) with its R^2, and a
 * UMAP of every condition and shot count. `td.parquet`, `accuracy.parquet`, `embeddings.parquet`,
 * `summary.json`.
 */
export const LmTdParams = Schema.Struct({
  labels: Schema.Array(Schema.String),
  k: Schema.Int.pipe(Schema.positive()),
  metric: Schema.Literal("euclidean", "cosine"),
  umap: Schema.Struct({ nNeighbors: Schema.Int.pipe(Schema.positive()), minDist: Schema.Number, seed: Schema.Int })
})

const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length)

export const lmTdStage = defineStage({
  name: "lm-td",
  version: "2",
  schemaVersion: 2,
  params: LmTdParams,
  meta: LmTdMeta,
  run: ({ params, inputs, dir }: { params: typeof LmTdParams.Type; inputs: { prompts: ArtifactRef; "lm-run": ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      yield* useTensorBackend // the k-NN distances run on it
      const prompts = yield* readPrompts(inputs.prompts)
      const answers = yield* readAnswers(inputs["lm-run"])
      const reader = yield* stagePromise("lm-td", () => ActivationReader.open(inputs["lm-run"].dir))
      const C = params.labels.length
      const nConcepts = C - 1 // the last label is Null
      const half = heldOutFrom(prompts)
      const conditions = [...new Set(prompts.map((p) => `${p.instructed ? "instructed" : "icl"}:${p.shots}`))].sort()
      const layers = reader.layers().sort((a, b) => a - b)
      const opts = { k: params.k, metric: params.metric }
      const tdOf = (X: Float32Array, y: Int32Array) => {
        const r = taskDecodability(X, y, C, { ...opts, k: Math.min(opts.k, y.length - 1) })
        return { td: mean(r.perClass.slice(0, nConcepts)), perClass: r.perClass }
      }
      const rows: Record<string, unknown>[] = []
      const vectorsAt = new Map<string, { X: Float32Array; y: Int32Array; items: Int32Array; d: number }>()
      const bar = progress("lm-td", layers.length)
      for (const layer of layers) {
        const slice = yield* stagePromise("lm-td", () => reader.read({ checkpoint: 0, layer }))
        const d = slice.dModel
        for (const cond of conditions) {
          const [condition, s] = cond.split(":")
          const shots = Number(s)
          const pick = (keep: (item: number) => boolean) => {
            const idx: number[] = []
            for (let r = 0; r < slice.n; r++) {
              const p = prompts[slice.seqIds[r]]
              if (p.shots === shots && (condition === "instructed") === p.instructed && keep(p.item)) idx.push(r)
            }
            const X = new Float32Array(idx.length * d)
            idx.forEach((r, j) => X.set(slice.vectors.subarray(r * d, (r + 1) * d), j * d))
            return { X, y: Int32Array.from(idx.map((r) => slice.concepts[r])), items: Int32Array.from(idx.map((r) => prompts[slice.seqIds[r]].item)), d }
          }
          const all = pick(() => true)
          const sel = pick((i) => i < half)
          const held = pick((i) => i >= half)
          const [tAll, tSel, tHeld] = yield* stageTry("lm-td", () => [tdOf(all.X, all.y), tdOf(sel.X, sel.y), tdOf(held.X, held.y)])
          vectorsAt.set(`${cond}:${layer}`, all)
          rows.push({
            condition,
            shots,
            layer,
            td: tAll.td,
            td_null: tAll.perClass[C - 1],
            td_selection: tSel.td,
            td_heldout: tHeld.td,
            per_concept: tAll.perClass,
            per_concept_heldout: tHeld.perClass
          })
        }
        bar.tick(1, `layer ${layer}`)
      }
      bar.done()
      // peak: highest mean selection-half TD over the plain-ICL shot counts, among the blocks (not the embedding)
      const icl = rows.filter((r) => r.condition === "icl")
      const shotsList = [...new Set(icl.map((r) => r.shots as number))].sort((a, b) => a - b)
      const blockLayers = layers.filter((l) => l >= 0)
      const score = (l: number) => mean(icl.filter((r) => r.layer === l).map((r) => r.td_selection as number))
      const peakLayer = blockLayers.reduce((best, l) => (score(l) > score(best) ? l : best), blockLayers[0])
      // accuracy per (condition, shots, label)
      const accRows: Record<string, unknown>[] = []
      for (const cond of conditions) {
        const [condition, s] = cond.split(":")
        params.labels.forEach((label, li) => {
          const these = prompts.filter((p) => p.label_index === li && p.shots === Number(s) && (condition === "instructed") === p.instructed)
          const right = these.filter((p) => answers[p.row].correct).length
          accRows.push({ condition, shots: Number(s), label, accuracy: right / Math.max(1, these.length), n: these.length })
        })
      }
      // TD vs accuracy over concepts x shot counts at the peak layer (held-out TD)
      const xs: number[] = []
      const ys: number[] = []
      for (const s of shotsList) {
        const r = icl.find((x) => x.shots === s && x.layer === peakLayer)!
        for (let c = 0; c < nConcepts; c++) {
          xs.push((r.per_concept_heldout as number[])[c])
          ys.push(accRows.find((a) => a.condition === "icl" && a.shots === s && a.label === params.labels[c])!.accuracy as number)
        }
      }
      // R^2 is undefined (NaN) when accuracy does not vary: there is nothing for TD to explain
      const fit = xs.length >= 3 && new Set(ys).size > 1 ? linearFit(xs, ys) : { slope: NaN, intercept: NaN, r2: NaN }
      const pairwise = Object.fromEntries(
        conditions.map((cond) => {
          const v = vectorsAt.get(`${cond}:${peakLayer}`)!
          return [cond, pairwiseTD(v.X, v.y, C, { ...opts, k: Math.min(opts.k, 2 * Math.floor(v.y.length / C) - 1) })]
        })
      )
      // UMAP of the peak layer, per condition and shot count (one seed for all, from the params)
      const embedded: Record<string, unknown>[] = []
      for (const cond of conditions) {
        const [condition, s] = cond.split(":")
        const v = vectorsAt.get(`${cond}:${peakLayer}`)!
        const xy = yield* stageTry("lm-td", () => umap2(v.X, v.d, params.umap)) // [n, 2]
        for (let i = 0; i < v.y.length; i++)
          embedded.push({ condition, shots: Number(s), layer: peakLayer, x: xy[2 * i], y: xy[2 * i + 1], label: v.y[i], item: v.items[i] })
      }
      yield* writeTable(dir, "td.parquet", tableFromRecords(LM_TD_SPEC(C), rows))
      yield* writeTable(dir, "embeddings.parquet", tableFromRecords(LM_EMBEDDINGS_SPEC, embedded))
      yield* writeTable(dir, "accuracy.parquet", tableFromRecords(LM_ACCURACY_SPEC, accRows))
      const tdAccuracy = { ...fit, points: xs.length }
      yield* writeJson(LmTdSummary, dir, "summary.json", { labels: params.labels, peakLayer, peakChosenOn: "selection half of the items", tdAccuracy, pairwise })
      return { rowCount: rows.length, meta: { peakLayer, tdAccuracy } }
    })
})
