import { type ArtifactRef, defineStage, tableFromRecords } from "@conceptscope/artifacts"
import {
  bayesOptimal,
  bayesOracle,
  lasso,
  leastSquares,
  RegressionTaskParamsSchema,
  scorePredictions,
  type Solver,
  solverPredictions
} from "@conceptscope/task-generators"
import { Effect, Schema } from "effect"
import { useTensorBackend } from "../backend.js"
import { checkpointAt, loadModel } from "./shared/checkpoints.js"
import { readDataset } from "./shared/datasets.js"
import { predictAll } from "./shared/forward.js"
import { stageTry, writeTable } from "./shared/io.js"
import { PhaseCheckpoints } from "./shared/phases.js"
import { ERRORS_SPEC, METHOD, modelMethod } from "./shared/tables.js"

/**
 * Error vs number of in-context examples on the held-out set: the trained model at each listed
 * checkpoint (early, two-cluster, final: the study's switch of algorithm across phases) beside the
 * reference solvers: least squares on all dims, ridge, lasso and, for basis mixtures, the basis-knowing
 * Bayesian ridge with the task's true prior and the Bayes-optimal predictor for the task's prior (the
 * posterior over a finite pool, or over bases under fresh w). One row per (method, basis, k) in
 * `errors.parquet`; the model's rows are named "model (<phase>, step <n>)"; basis -1 pools all
 * sequences; nmse = mse / mean y^2.
 */
export const CurvesParams = Schema.Struct({
  task: RegressionTaskParamsSchema,
  checkpoints: PhaseCheckpoints,
  ridge: Schema.Number.pipe(Schema.positive()),
  lassoAlpha: Schema.Number.pipe(Schema.positive()),
  batchSize: Schema.Int.pipe(Schema.positive())
})


export const curvesStage = defineStage({
  name: "curves",
  version: "3",
  schemaVersion: 2,
  params: CurvesParams,
  meta: Schema.Struct({ steps: Schema.Array(Schema.Int) }),
  run: ({ params, inputs, dir }: { params: typeof CurvesParams.Type; inputs: { train: ArtifactRef; evalset: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      yield* useTensorBackend
      const data = yield* readDataset(inputs.evalset)
      const methods: [string, Float32Array][] = []
      for (const target of params.checkpoints) {
        const ck = yield* checkpointAt("curves", inputs.train, target.step)
        const preds = yield* Effect.scoped(Effect.flatMap(loadModel("curves", inputs.train, ck.file), (model) => stageTry("curves", () => predictAll(model, data, params.batchSize))))
        methods.push([modelMethod(target.phase, ck.step), preds])
      }
      const records = yield* stageTry("curves", () => {
        const solvers: [string, Solver][] = [
          [METHOD.leastSquares, leastSquares()],
          [`ridge (${params.ridge})`, leastSquares({ ridge: params.ridge })],
          [`lasso (${params.lassoAlpha})`, lasso({ alpha: params.lassoAlpha })]
        ]
        if (!params.task.families) solvers.push([METHOD.bayesOracle, bayesOracle(params.task)], [METHOD.bayesOptimal, bayesOptimal(params.task)])
        for (const [name, solver] of solvers) methods.push([name, solverPredictions(data, solver)])
        return methods.flatMap(([method, p]) => scorePredictions(data, p).map((pt) => ({ method, basis: pt.basis, k: pt.k, nmse: pt.nmse })))
      })
      yield* writeTable(dir, "errors.parquet", tableFromRecords(ERRORS_SPEC, records))
      return { rowCount: records.length, meta: { steps: params.checkpoints.map((c) => c.step) } }
    })
})
