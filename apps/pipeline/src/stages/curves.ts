import { type ArtifactRef, defineStage, tableFromRecords } from "@conceptscope/artifacts"
import { lasso, leastSquares, oracle, RegressionTaskParamsSchema, scorePredictions, solverPredictions } from "@conceptscope/task-generators"
import { Effect, Schema } from "effect"
import { useTensorBackend } from "../backend.js"
import { checkpointAt, loadModel } from "./shared/checkpoints.js"
import { readDataset } from "./shared/datasets.js"
import { predictAll } from "./shared/forward.js"
import { stageTry, writeTable } from "./shared/io.js"
import { ERRORS_SPEC } from "./shared/tables.js"

/**
 * Error vs number of in-context examples on the held-out set: the trained model at checkpoint `step`
 * beside the reference solvers (least squares on all dims, ridge, lasso, the basis oracle). One row per
 * (method, basis, k) in `errors.parquet`; basis -1 pools all sequences; nmse = mse / mean y^2.
 */
export const CurvesParams = Schema.Struct({
  task: RegressionTaskParamsSchema,
  step: Schema.Int.pipe(Schema.nonNegative()),
  ridge: Schema.Number.pipe(Schema.positive()),
  lassoAlpha: Schema.Number.pipe(Schema.positive()),
  batchSize: Schema.Int.pipe(Schema.positive())
})

export const curvesStage = defineStage({
  name: "curves",
  version: "2",
  schemaVersion: 1,
  params: CurvesParams,
  meta: Schema.Struct({ step: Schema.Int }),
  run: ({ params, inputs, dir }: { params: typeof CurvesParams.Type; inputs: { train: ArtifactRef; evalset: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      yield* useTensorBackend
      const data = yield* readDataset(inputs.evalset)
      const ck = yield* checkpointAt("curves", inputs.train, params.step)
      const preds = yield* Effect.scoped(Effect.flatMap(loadModel("curves", inputs.train, ck.file), (model) => stageTry("curves", () => predictAll(model, data, params.batchSize))))
      const records = yield* stageTry("curves", () => {
        const methods: [string, Float32Array][] = [
          ["model", preds],
          ["least squares", solverPredictions(data, leastSquares())],
          [`ridge (${params.ridge})`, solverPredictions(data, leastSquares({ ridge: params.ridge }))],
          [`lasso (${params.lassoAlpha})`, solverPredictions(data, lasso({ alpha: params.lassoAlpha }))],
          ["oracle (knows the basis)", solverPredictions(data, oracle(params.task))]
        ]
        return methods.flatMap(([method, p]) => scorePredictions(data, p).map((pt) => ({ method, basis: pt.basis, k: pt.k, nmse: pt.nmse })))
      })
      yield* writeTable(dir, "errors.parquet", tableFromRecords(ERRORS_SPEC, records))
      return { rowCount: records.length, meta: { step: ck.step } }
    })
})

