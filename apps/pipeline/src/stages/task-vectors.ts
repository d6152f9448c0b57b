import { ActivationReader } from "@conceptscope/activation-store"
import { type ArtifactRef, defineStage, StageError, tableFromRecords } from "@conceptscope/artifacts"
import { type Intervention, progress, residPost, Rng } from "@conceptscope/core"
import { CausalLM, loadTokenizer } from "@conceptscope/model-runners"
import { tokenizePrompt } from "@conceptscope/task-generators"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema } from "effect"
import { useTensorBackend } from "../backend.js"
import { stagePromise, stageTry, writeTable } from "./shared/io.js"
import { batchesByLength } from "./shared/lm-batches.js"
import { generatedCorrect, scoreBatch, stopTokens } from "./shared/lm-scoring.js"
import { readModelMeta, readAnswers, readPrompts, VECTORS_SPEC } from "./shared/llm-tables.js"

/**
 * Task-vector interventions at one layer (the peak TD layer unless the config names one), at the token before the answer of plain
 * ICL prompts with `shots` demonstrations. In each replicate every label's items are split at random
 * in halves: the label means of the residual (`blocks.{layer}.hook_resid_post`) come from one half, and
 * the concepts' prompts of the other half are scored with
 *   positive: the prompt's own concept mean;  negative: the Null mean;
 *   "replace": the residual becomes that mean;  "add": the mean's offset from the average of the label
 *   means is added (adding the raw mean would double the residual's common part).
 * Accuracy with the intervention against the same prompts without it (from lm-run), per concept.
 */
export const TaskVectorsParams = Schema.Struct({
  fingerprint: Schema.String,
  mode: Schema.Literal("auto", "memory", "streamed"),
  batchSize: Schema.Int.pipe(Schema.positive()),
  /** how an answer counts as correct (lm-scoring.ts), as in lm-run */
  scoring: Schema.Literal("teacher-forced", "generate"),
  stopAfter: Schema.String,
  layer: Schema.Int.pipe(Schema.nonNegative()),
  shots: Schema.Int.pipe(Schema.nonNegative()),
  replicates: Schema.Int.pipe(Schema.positive()),
  modes: Schema.NonEmptyArray(Schema.Literal("add", "replace")),
  seed: Schema.Int
})

export const TaskVectorsMeta = Schema.Struct({ evaluated: Schema.Int, layer: Schema.Int })

const meanRows = (X: Float32Array, rows: readonly number[], d: number) => {
  const m = new Float64Array(d)
  for (const r of rows) for (let j = 0; j < d; j++) m[j] += X[r * d + j]
  return Array.from(m, (v) => v / Math.max(1, rows.length))
}

export const taskVectorsStage = defineStage({
  name: "task-vectors",
  version: "2",
  schemaVersion: 1,
  params: TaskVectorsParams,
  meta: TaskVectorsMeta,
  run: ({ params, inputs, dir }: { params: typeof TaskVectorsParams.Type; inputs: { "lm-model": ArtifactRef; prompts: ArtifactRef; "lm-run": ArtifactRef; "lm-td": ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      yield* useTensorBackend
      const { dir: modelDir } = yield* readModelMeta("task-vectors", inputs["lm-model"])
      const prompts = yield* readPrompts(inputs.prompts)
      const answers = yield* readAnswers(inputs["lm-run"])
      const reader = yield* stagePromise("task-vectors", () => ActivationReader.open(inputs["lm-run"].dir))
      const blocks = reader.layers().filter((l) => l >= 0) // -1 is the embedding output
      if (!blocks.includes(params.layer))
        return yield* Effect.fail(new StageError({ stage: "task-vectors", reason: `taskVectors.layer ${params.layer} is not a layer of the model (layers ${blocks[0]}..${blocks.at(-1)})` }))
      const slice = yield* stagePromise("task-vectors", () => reader.read({ checkpoint: 0, layer: params.layer }))
      const d = slice.dModel
      const labels = [...new Set(prompts.map((p) => p.label_index))].sort((a, b) => a - b)
      const nullLabel = labels[labels.length - 1]
      const labelName = new Map(prompts.map((p) => [p.label_index, p.label]))
      // residual rows of plain prompts at the chosen shot count, by label
      const rowsOf = new Map<number, number[]>(labels.map((l) => [l, []]))
      for (let r = 0; r < slice.n; r++) {
        const p = prompts[slice.seqIds[r]]
        if (p.shots === params.shots && !p.instructed) rowsOf.get(p.label_index)!.push(r)
      }
      if (labels.some((l) => rowsOf.get(l)!.length < 2))
        return yield* Effect.fail(new StageError({ stage: "task-vectors", reason: `fewer than 2 plain ${params.shots}-shot prompts for some label (shots must be one of the config's shot counts)` }))
      const tok = yield* stageTry("task-vectors", () => loadTokenizer(modelDir))
      const hook = residPost(params.layer)
      const out: Record<string, unknown>[] = []
      return yield* Effect.acquireUseRelease(
        stageTry("task-vectors", () => CausalLM.load(modelDir, { mode: params.mode })),
        (model) =>
          Effect.gen(function* () {
            const stop = params.scoring === "generate" ? stopTokens(model, (t) => tok.encode(t, { addSpecialTokens: false }), params.stopAfter) : []
            const bar = progress("task-vectors", params.replicates * params.modes.length * 2)
            for (let rep = 0; rep < params.replicates; rep++) {
              const rng = new Rng(params.seed).fork(`task-vectors:${rep}`)
              const meanSet = new Map<number, number[]>()
              const evalSet = new Map<number, number[]>()
              for (const l of labels) {
                const rows = rng.shuffle(rowsOf.get(l)!)
                const h = Math.floor(rows.length / 2)
                meanSet.set(l, rows.slice(0, h))
                evalSet.set(l, rows.slice(h))
              }
              const means = new Map(labels.map((l) => [l, meanRows(slice.vectors, meanSet.get(l)!, d)]))
              const grand = Array.from({ length: d }, (_, j) => labels.reduce((s, l) => s + means.get(l)![j], 0) / labels.length)
              const concepts = labels.filter((l) => l !== nullLabel)
              const evalRows = concepts.flatMap((l) => evalSet.get(l)!)
              const promptIdx = evalRows.map((r) => slice.seqIds[r])
              const tokenized = promptIdx.map((i) => tokenizePrompt(tok, prompts[i]))
              for (const mode of params.modes)
                for (const sign of ["positive", "negative"] as const) {
                  const correct = new Map<number, boolean>()
                  for (const batch of batchesByLength(tokenized.map((t) => t.promptIds.length), params.batchSize)) {
                    const P = tokenized[batch[0]].promptIds.length
                    // one intervention per vector, restricted to the batch rows it is for
                    const byVector = new Map<number, number[]>()
                    batch.forEach((i, b) => {
                      const src = sign === "positive" ? prompts[promptIdx[i]].label_index : nullLabel
                      byVector.set(src, [...(byVector.get(src) ?? []), b])
                    })
                    const interventions: Intervention[] = [...byVector].map(([src, rows]) => ({
                      hook,
                      positions: [P - 1],
                      op: mode === "replace" ? ("replace" as const) : ("add" as const),
                      vector: mode === "replace" ? means.get(src)! : means.get(src)!.map((v, j) => v - grand[j]),
                      batch: rows
                    }))
                    const these = batch.map((i) => tokenized[i])
                    const right = yield* stageTry("task-vectors", () => {
                      if (params.scoring === "generate") return generatedCorrect(model, these, stop, interventions).correct
                      const scored = scoreBatch(model, these, { interventions })
                      tf.dispose(Object.values(scored.captured))
                      return scored.correct
                    })
                    batch.forEach((i, b) => correct.set(i, right[b]))
                  }
                  for (const l of concepts) {
                    const idx = evalRows.map((r, i) => [r, i] as const).filter(([r]) => slice.concepts[r] === l)
                    const base = idx.filter(([, i]) => answers[promptIdx[i]].correct).length / idx.length
                    const acc = idx.filter(([, i]) => correct.get(i)).length / idx.length
                    out.push({ replicate: rep, mode, sign, label: labelName.get(l)!, n: idx.length, accuracy_base: base, accuracy: acc })
                  }
                  bar.tick(1, `replicate ${rep + 1}, ${mode} ${sign}`)
                }
            }
            bar.done()
            yield* writeTable(dir, "vectors.parquet", tableFromRecords(VECTORS_SPEC, out))
            return { rowCount: out.length, meta: { evaluated: out.reduce((s, r) => s + (r.n as number), 0), layer: params.layer } }
          }),
        (model) => Effect.sync(() => model.dispose())
      )
    })
})
