import { ArtifactStore, defineStage, getColumn, tableFromRecords, type ArtifactRef } from "@conceptscope/artifacts"
import { hashString } from "@conceptscope/core"
import { checkpointSchedule, evaluateRegression, learningRateAt, trainRegression } from "@conceptscope/finetuners"
import { RegressionTaskParamsSchema, sampleSequences } from "@conceptscope/task-generators"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ModelSchema, TrainSchema } from "../config"
import { readTable, stagePromise, writeTable } from "./common"
import { readDataset } from "./dataset"

/**
 * Train the regression transformer on fresh batches of the task (Adam, MSE on the y predictions) and
 * keep checkpoints on a schedule dense early and sparse late. At every checkpoint the model is scored
 * on the held-out set: per basis and per example index, normalised so that predicting 0 scores 1.
 *
 * Resumable: work in progress lives in `<store>/.resume/training-run-<key>/` (checkpoints, curve rows,
 * weights + Adam state saved about 40 times and at each checkpoint, each save in a `state/step-N/`
 * directory that `state/step.json` points to only once it is complete). A rerun after an
 * interruption continues from the last saved state and produces the same bytes as an uninterrupted run.
 */
export const TrainParams = Schema.Struct({
  task: RegressionTaskParamsSchema,
  model: ModelSchema,
  train: TrainSchema,
  seed: Schema.Int
})

const CURVE_SPEC = { step: "int32", basis: "int32", k: "int32", mse: "float64", nmse: "float64" } as const

/** Batch of update `step`: a function of (seed, step) alone, so a resumed run sees the same data. */
const batchSeed = (seed: number, step: number) => hashString(`train:${seed}:${step}`)

export const trainStage = defineStage({
  name: "train",
  version: "1",
  kind: "training-run",
  schemaVersion: 1,
  params: TrainParams,
  run: ({ params, inputs, dir, key }: { params: typeof TrainParams.Type; inputs: { eval: ArtifactRef }; dir: string; key: string }) =>
    Effect.gen(function* () {
      const store = yield* ArtifactStore
      const evalSet = yield* readDataset(inputs.eval)
      const work = path.join(store.root, ".resume", `training-run-${key}`)
      const ckDir = path.join(work, "checkpoints")
      const stateDir = path.join(work, "state")
      fs.mkdirSync(ckDir, { recursive: true })
      fs.mkdirSync(stateDir, { recursive: true })
      const curvesFile = path.join(work, "curves.jsonl")
      const progressFile = path.join(stateDir, "step.json")
      const slot = (step: number) => path.join(stateDir, `step-${String(step).padStart(8, "0")}`)
      const resumeStep = fs.existsSync(progressFile) ? (JSON.parse(fs.readFileSync(progressFile, "utf8")) as { step: number }).step : null
      const { task, model, train, seed } = params
      const modelConfig = { ...model, xDim: task.dim, maxExamples: task.nExamples, seed }
      const evalSteps = new Set(checkpointSchedule(train.steps, train.checkpoints))
      const every = Math.max(1, Math.ceil(train.steps / 40))
      const stateSteps = Array.from({ length: Math.floor(train.steps / every) }, (_, i) => (i + 1) * every)
      const allSteps = [...new Set([...evalSteps, ...stateSteps])].sort((a, b) => a - b)
      if (resumeStep !== null) process.stderr.write(`[train] resuming from step ${resumeStep} (${work})\n`)
      // Curve rows already written for steps at or before the resume point are kept; later ones dropped.
      // A line that does not parse is the tail of an append the interruption cut short (after the last saved state).
      const stepOf = (l: string): number => {
        try {
          return (JSON.parse(l) as { step: number }).step
        } catch {
          return Infinity
        }
      }
      const kept = fs.existsSync(curvesFile) ? fs.readFileSync(curvesFile, "utf8").split("\n").filter((l) => l && stepOf(l) <= (resumeStep ?? -1)) : []
      fs.writeFileSync(curvesFile, kept.map((l) => l + "\n").join(""))
      const result = yield* stagePromise("train", () =>
        trainRegression({
          model: modelConfig,
          steps: train.steps,
          batchSize: train.batchSize,
          lr: train.lr,
          lrAt: (s) => learningRateAt(train.lrSchedule, train.lr, s, train.steps),
          betas: [train.beta1, train.beta2],
          clipGradNorm: train.gradClip,
          checkpoints: allSteps,
          label: "train",
          sampleBatch: (B, step) => {
            const b = sampleSequences(task, { n: B, seed: batchSeed(seed, step) })
            return { xs: b.xs, ys: b.ys }
          },
          resumeFrom:
            resumeStep === null ? undefined : { step: resumeStep, weightsPath: path.join(slot(resumeStep), "weights.safetensors"), optimizerPath: path.join(slot(resumeStep), "optimizer.safetensors") },
          onCheckpoint: async (step, m, trainer) => {
            if (evalSteps.has(step)) {
              const r = evaluateRegression(m, { xs: evalSet.xs, ys: evalSet.ys, basis: evalSet.basis, nBases: task.nBases })
              const rows = r.nmsePerBasisIndex.flatMap((perK, basis) => perK.map((nmse, k) => ({ step, basis, k, mse: r.perBasisIndex[basis][k], nmse })))
              await m.save(path.join(ckDir, `step-${String(step).padStart(8, "0")}.safetensors`), { step: String(step) })
              fs.appendFileSync(curvesFile, JSON.stringify({ step, rows }) + "\n")
            }
            // each save goes to a directory of its own; step.json moves to it only once it is complete, so an
            // interruption during a save leaves the previous state intact
            fs.mkdirSync(slot(step), { recursive: true })
            await trainer.saveState(path.join(slot(step), "weights.safetensors"), path.join(slot(step), "optimizer.safetensors"))
            fs.writeFileSync(progressFile + ".tmp", JSON.stringify({ step }))
            fs.renameSync(progressFile + ".tmp", progressFile)
            for (const d of fs.readdirSync(stateDir)) if (d.startsWith("step-") && d !== path.basename(slot(step))) fs.rmSync(path.join(stateDir, d), { recursive: true, force: true })
          }
        })
      )
      result.model.dispose()
      // Commit: move the checkpoints into the staging directory, write the curves and the list.
      const lines = fs.readFileSync(curvesFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { step: number; rows: Record<string, number>[] })
      const rows = lines.flatMap((l) => l.rows)
      yield* writeTable(dir, "curves.parquet", tableFromRecords(CURVE_SPEC, rows))
      fs.renameSync(ckDir, path.join(dir, "checkpoints"))
      const files = fs.readdirSync(path.join(dir, "checkpoints")).sort()
      const list = files.map((f) => ({ step: Number(/step-(\d+)/.exec(f)![1]), file: `checkpoints/${f}` }))
      fs.writeFileSync(path.join(dir, "checkpoints.json"), JSON.stringify(list, null, 1))
      fs.rmSync(work, { recursive: true, force: true })
      return {
        rowCount: rows.length,
        meta: { backend: tf.getBackend(), msPerStep: result.msPerStep, resumedFrom: resumeStep, finalLoss: result.losses[result.losses.length - 1] ?? null }
      }
    })
})

export const readTrainingCurves = (ref: ArtifactRef) =>
  Effect.map(readTable(ref, "curves.parquet"), (t) => {
    const step = getColumn(t, "step", "int32").data
    const basis = getColumn(t, "basis", "int32").data
    const k = getColumn(t, "k", "int32").data
    const nmse = getColumn(t, "nmse", "float64").data
    return Array.from({ length: t.numRows }, (_, i) => ({ step: step[i], basis: basis[i], k: k[i], nmse: nmse[i] }))
  })
