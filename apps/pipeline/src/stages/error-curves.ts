import { defineStage, getColumn, tableFromRecords, type ArtifactRef } from "@conceptscope/artifacts"
import { lasso, leastSquares, oracle, RegressionTaskParamsSchema, scorePredictions, solverPredictions } from "@conceptscope/task-generators"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema } from "effect"
import { readTable, writeTable } from "./common"
import { readDataset } from "./dataset"
import { checkpointPath, loadModel, readCheckpoints } from "./model-io"

/**
 * Error vs number of in-context examples on the held-out set: the trained model at its final checkpoint
 * beside the reference solvers (least squares on all dims, ridge, lasso, the basis oracle). One row per
 * (method, basis, k) in `errors.parquet`; basis -1 pools all sequences; nmse = mse / mean y^2.
 */
export const ErrorCurveParams = Schema.Struct({
  task: RegressionTaskParamsSchema,
  ridge: Schema.Number.pipe(Schema.positive()),
  lassoAlpha: Schema.Number.pipe(Schema.positive()),
  batchSize: Schema.Int.pipe(Schema.positive())
})

export interface ErrorCurveRow {
  method: string
  basis: number
  k: number
  nmse: number
}

export const errorCurvesStage = defineStage({
  name: "error-curves",
  version: "1",
  kind: "error-curves",
  schemaVersion: 1,
  params: ErrorCurveParams,
  run: ({ params, inputs, dir }: { params: typeof ErrorCurveParams.Type; inputs: { run: ArtifactRef; eval: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      const data = yield* readDataset(inputs.eval)
      const checkpoints = yield* readCheckpoints(inputs.run)
      const last = checkpoints[checkpoints.length - 1]
      const preds = yield* Effect.scoped(
        Effect.gen(function* () {
          const model = yield* loadModel("error-curves", checkpointPath(inputs.run, last.file))
          const { K, D } = data
          const out = new Float32Array(data.n * K) // [n, K]
          for (let s = 0; s < data.n; s += params.batchSize) {
            const B = Math.min(params.batchSize, data.n - s)
            const p = tf.tidy(() => model.forward(tf.tensor3d(data.xs.subarray(s * K * D, (s + B) * K * D), [B, K, D]), tf.tensor2d(data.ys.subarray(s * K, (s + B) * K), [B, K])).preds)
            out.set(p.dataSync() as Float32Array, s * K)
            p.dispose()
          }
          return out
        })
      )
      const methods: [string, Float32Array][] = [
        ["model", preds],
        ["least squares", solverPredictions(data, leastSquares())],
        [`ridge (${params.ridge})`, solverPredictions(data, leastSquares({ ridge: params.ridge }))],
        [`lasso (${params.lassoAlpha})`, solverPredictions(data, lasso({ alpha: params.lassoAlpha }))],
        ["oracle (knows the basis)", solverPredictions(data, oracle(params.task))]
      ]
      const records = methods.flatMap(([method, p]) => scorePredictions(data, p).map((pt) => ({ method, basis: pt.basis, k: pt.k, nmse: pt.nmse })))
      yield* writeTable(dir, "errors.parquet", tableFromRecords({ method: "string", basis: "int32", k: "int32", nmse: "float64" }, records))
      return { rowCount: records.length, meta: { finalStep: last.step } }
    })
})

export const readErrorCurves = (ref: ArtifactRef) =>
  Effect.map(readTable(ref, "errors.parquet"), (t): ErrorCurveRow[] => {
    const method = getColumn(t, "method", "string").data
    const basis = getColumn(t, "basis", "int32").data
    const k = getColumn(t, "k", "int32").data
    const nmse = getColumn(t, "nmse", "float64").data
    return Array.from({ length: t.numRows }, (_, i) => ({ method: method[i], basis: basis[i], k: k[i], nmse: nmse[i] }))
  })
