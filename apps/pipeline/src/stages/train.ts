import { defineStage } from "@conceptscope/artifacts"
import { crashPoint, hashString } from "@conceptscope/core"
import { checkpointSchedule, learningRateAt, RunDir, trainRegression } from "@conceptscope/finetuners"
import { RegressionTaskParamsSchema, sampleSequences } from "@conceptscope/task-generators"
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { useTensorBackend } from "../backend.js"
import { activeDims, coordinateOrder, truncateDims } from "./shared/curriculum.js"
import { ModelSchema, TrainMeta, TrainSchema } from "./shared/train-params.js"
import { stagePromise, stageTry } from "./shared/io.js"

/**
 * Train the regression transformer on fresh batches of the task (Adam, MSE on the y predictions) and
 * keep checkpoints on a schedule dense early and sparse late: `checkpoints/step-NNNNNNNN.safetensors`
 * and `checkpoints.json` ([{ step, file }]).
 *
 * Resumable: the run works in the store's work directory for its key (a finetuners RunDir: checkpoints
 * and the weights + Adam state of the last complete save); a rerun after an interruption continues from
 * there and produces the same bytes as an uninterrupted run. The checkpoints join the artifact as hard
 * links, so the work directory stays whole until the commit retires it.
 */
export const TrainParams = Schema.Struct({
  task: RegressionTaskParamsSchema,
  model: ModelSchema,
  train: TrainSchema,
  seed: Schema.Int
})

/** Batch of update `step`: a function of (seed, step) alone, so a resumed run sees the same data. */
const batchSeed = (seed: number, step: number) => hashString(`train:${seed}:${step}`)

/** Hard-link (or, across file systems, copy) the run's checkpoints into the artifact and list them. */
function adoptCheckpoints(runDir: string, dir: string) {
  fs.mkdirSync(path.join(dir, "checkpoints"))
  // the checkpoints the run's last complete state names (never a temporary or half-written file)
  const list = new RunDir(runDir).checkpoints().map((ck) => {
    const file = `checkpoints/${path.basename(ck.file)}`
    try {
      fs.linkSync(ck.file, path.join(dir, file))
    } catch {
      fs.copyFileSync(ck.file, path.join(dir, file))
    }
    crashPoint("train-adopt")
    return { step: ck.step, file }
  })
  fs.writeFileSync(path.join(dir, "checkpoints.json"), JSON.stringify(list, null, 1))
  return list
}

export const trainStage = defineStage({
  name: "train",
  version: "3",
  schemaVersion: 1,
  params: TrainParams,
  meta: TrainMeta,
  run: ({ params, dir, workDir }: { params: typeof TrainParams.Type; inputs: Record<never, never>; dir: string; workDir: string }) =>
    Effect.gen(function* () {
      const backend = yield* useTensorBackend
      const { task, model, train, seed } = params
      const order = train.curriculum ? coordinateOrder(task, train.curriculum.order) : undefined
      const result = yield* stagePromise("train", () =>
        trainRegression({
          model: { ...model, xDim: task.dim, maxExamples: task.nExamples, seed },
          steps: train.steps,
          batchSize: train.batchSize,
          lr: train.lr,
          lrAt: (s) => learningRateAt(train.lrSchedule, train.lr, s, train.steps),
          betas: [train.beta1, train.beta2],
          clipGradNorm: train.gradClip,
          checkpoints: checkpointSchedule(train.steps, train.checkpoints),
          runDir: workDir,
          label: "train",
          sampleBatch: (B, step) => {
            const d = activeDims(train.curriculum, task.dim, step)
            const b = truncateDims(sampleSequences(task, { n: B, seed: batchSeed(seed, step) }), d, order)
            return { xs: b.xs, ys: b.ys }
          }
        })
      )
      result.model.dispose()
      const list = yield* stageTry("train", () => adoptCheckpoints(workDir, dir))
      return {
        rowCount: list.length,
        meta: {
          checkpointSteps: list.map((c) => c.step),
          backend: backend.name,
          msPerStep: result.msPerStep,
          resumedFrom: result.resumedFrom,
          finalLoss: result.losses.length ? result.losses[result.losses.length - 1] : null
        }
      }
    })
})
