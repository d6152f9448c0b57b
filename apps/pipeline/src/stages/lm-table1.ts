import { type ArtifactRef, defineStage, StageError, tableFromRecords, writeJson } from "@conceptscope/artifacts"
import { residPost } from "@conceptscope/core"
import { CausalLM, loadTokenizer } from "@conceptscope/model-runners"
import { tokenizePrompt } from "@conceptscope/task-generators"
import { Effect, Schema } from "effect"
import * as path from "node:path"
import { useTensorBackend } from "../backend.js"
import { stageTry, writeTable } from "./shared/io.js"
import { stopTokens } from "./shared/lm-scoring.js"
import { LmPassFields, promptPass } from "./shared/lm-pass.js"
import { accuracyByConcept, tdByLayerHalves } from "./shared/lm-td-halves.js"
import { ADAPTERS_DIR, heldOutFrom, LM_TABLE1_SPEC, readModelMeta, readPrompts, Table1Summary } from "./shared/llm-tables.js"

/**
 * The study's Table 1 for one family: the pretrained model, each LoRA variant of lm-finetune (merged into
 * the weights) and the prompting condition (the instruction naming the concept, pretrained model), all on
 * the same queries at `shots` demonstrations. Per row: accuracy per concept, and held-out TD per concept at
 * the pretrained model's peak layer (lm-td) and at the row's own peak (chosen on the selection half of the
 * items, as lm-td does), each as mean and spread (sd) over concepts. A variant trained on layers from f on
 * cannot change the residual stream before layer f: the stage measures the largest difference of those
 * layers' residuals from the pretrained model's (the same prompts, batches and kernels) and their TD.
 */
export const LmTable1Params = Schema.Struct({
  ...LmPassFields,
  /** null when the config has no `finetune`: the stage then writes no rows */
  shots: Schema.NullOr(Schema.Int),
  labels: Schema.Array(Schema.String),
  k: Schema.Int,
  metric: Schema.Literal("euclidean", "cosine"),
  pretrainedPeak: Schema.Int,
  variants: Schema.Array(Schema.Struct({ name: Schema.String, layers: Schema.Array(Schema.Int) }))
})

const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length)
const sd = (xs: readonly number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)))
const stat = (perConcept: number[]) => ({ mean: mean(perConcept), spread: sd(perConcept), perConcept })

export const lmTable1Stage = defineStage({
  name: "lm-table1",
  version: "1",
  schemaVersion: 1,
  params: LmTable1Params,
  meta: Schema.Struct({ rows: Schema.Array(Schema.String) }),
  run: ({ params, inputs, dir }: { params: typeof LmTable1Params.Type; inputs: { "lm-model": ArtifactRef; prompts: ArtifactRef; "lm-finetune": ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      if (params.shots === null) {
        yield* writeJson(Table1Summary, dir, "table1.json", { shots: 0, pretrainedPeak: params.pretrainedPeak, rows: [], unchangedBelow: [] })
        return { rowCount: 0, meta: { rows: [] } }
      }
      const shots = params.shots
      yield* useTensorBackend
      const { dir: modelDir, nLayers, dModel: d } = yield* readModelMeta("lm-table1", inputs["lm-model"])
      const prompts = yield* readPrompts(inputs.prompts)
      const tok = yield* stageTry("lm-table1", () => loadTokenizer(modelDir))
      const tokenized = yield* stageTry("lm-table1", () => prompts.map((p) => tokenizePrompt(tok, p)))
      const plain = prompts.filter((p) => p.shots === shots && !p.instructed).map((p) => p.row)
      const told = prompts.filter((p) => p.shots === shots && p.instructed).map((p) => p.row)
      if (plain.length === 0 || told.length === 0)
        return yield* Effect.fail(new StageError({ stage: "lm-table1", reason: `no plain and instructed prompts at ${shots} shots (promptingShots must be one of the shot counts)` }))
      const C = params.labels.length
      const concepts = params.labels.slice(0, -1)
      const half = heldOutFrom(prompts)
      const hooks = Array.from({ length: nLayers }, (_, l) => residPost(l))
      /** one model load (an adapter merged, or none), one prompt pass per list of rows */
      const run = (adapter: string | null, lists: number[][], label: string) =>
        stageTry("lm-table1", () => {
          const model = CausalLM.load(modelDir, { mode: params.mode, adapter: adapter ? { dir: adapter, merge: true } : undefined })
          try {
            const stop = params.scoring === "generate" ? stopTokens(model, (t) => tok.encode(t, { addSpecialTokens: false }), params.stopAfter) : null
            return lists.map((rows) => promptPass(model, tokenized, rows, { batchSize: params.batchSize, hooks, stop, label }))
          } finally {
            model.dispose()
          }
        })
      const [base, prompting] = yield* run(null, [plain, told], "table1 pretrained and prompting")
      const passes = [
        { name: "pretrained", layers: null as number[] | null, pass: base, rows: plain },
        ...(yield* Effect.forEach(params.variants, (v) =>
          Effect.map(run(path.join(inputs["lm-finetune"].dir, ADAPTERS_DIR, v.name), [plain], `table1 ${v.name}`), ([pass]) => ({ name: v.name, layers: [...v.layers], pass, rows: plain }))
        )),
        { name: "prompting", layers: null, pass: prompting, rows: told }
      ]
      const records: Record<string, unknown>[] = []
      const rowsOut = passes.map(({ name, layers, pass, rows }) => {
        const y = Int32Array.from(rows.map((r) => prompts[r].label_index))
        const { byLayer, ownPeak } = tdByLayerHalves(pass.vectors, hooks, y, rows.map((r) => prompts[r].item), half, d, C, { k: params.k, metric: params.metric })
        const acc = accuracyByConcept(pass.correct, rows, (r) => prompts[r].label_index, concepts.length)
        concepts.forEach((label, c) =>
          records.push({ variant: name, label, td_pretrained_peak: byLayer[params.pretrainedPeak].heldout[c], td_own_peak: byLayer[ownPeak].heldout[c], accuracy: acc[c] })
        )
        return {
          name,
          layers,
          ownPeak,
          tdAtPretrainedPeak: stat(byLayer[params.pretrainedPeak].heldout),
          tdAtOwnPeak: stat(byLayer[ownPeak].heldout),
          accuracy: stat(acc),
          tdByLayer: byLayer.map((l) => mean(l.heldout))
        }
      })
      // the layers before a variant's first trained layer: their residuals must equal the pretrained model's
      const unchangedBelow = passes
        .filter((p) => p.layers !== null)
        .map(({ name, layers, pass }) => {
          const f = Math.min(...layers!)
          const below = hooks.slice(0, f)
          let maxAbsDiff = 0
          for (const h of below) {
            const a = pass.vectors.get(h)!
            const b = base.vectors.get(h)!
            for (let i = 0; i < a.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]))
          }
          const row = rowsOut.find((r) => r.name === name)!
          const pre = rowsOut.find((r) => r.name === "pretrained")!
          const tdMaxDiff = Math.max(0, ...below.map((_, l) => Math.abs(row.tdByLayer[l] - pre.tdByLayer[l])))
          return { variant: name, firstTrainedLayer: f, layersChecked: below.map((_, l) => l), maxAbsDiff, tdMaxDiff }
        })
      yield* writeTable(dir, "table1.parquet", tableFromRecords(LM_TABLE1_SPEC, records))
      yield* writeJson(Table1Summary, dir, "table1.json", { shots, pretrainedPeak: params.pretrainedPeak, rows: rowsOut, unchangedBelow })
      return { rowCount: records.length, meta: { rows: rowsOut.map((r) => r.name) } }
    })
})
