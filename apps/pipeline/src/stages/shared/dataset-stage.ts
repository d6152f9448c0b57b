import { defineStage } from "@conceptscope/artifacts"
import { RegressionTaskParamsSchema, sampleSequences } from "@conceptscope/task-generators"
import { Effect, Schema } from "effect"
import { batchToTable } from "./datasets.js"
import { stageTry, writeTable } from "./io.js"

/**
 * A set of regression sequences (the held-out evaluation set, the probe set), one row per sequence in
 * `data.parquet`: seq_id int32, basis int32, x vector [K*D], y vector [K], w vector [D].
 */
export const DatasetParams = Schema.Struct({
  task: RegressionTaskParamsSchema,
  n: Schema.Int.pipe(Schema.positive()),
  seed: Schema.Int,
  /** Exactly n / nBases sequences per basis, else a uniform basis draw. */
  balanced: Schema.Boolean
})

export const DatasetMeta = Schema.Struct({ n: Schema.Int, K: Schema.Int, D: Schema.Int })

/** The stage that samples one such set, under the stage name `name`. */
export const datasetStage = <N extends string>(name: N) =>
  defineStage({
    name,
    version: "1",
    schemaVersion: 1,
    params: DatasetParams,
    meta: DatasetMeta,
    run: ({ params, dir }: { params: typeof DatasetParams.Type; inputs: Record<string, never>; dir: string }) =>
      stageTry(name, () => sampleSequences(params.task, { n: params.n, seed: params.seed, basisBalanced: params.balanced })).pipe(
        Effect.tap((batch) => writeTable(dir, "data.parquet", batchToTable(batch))),
        Effect.map((batch) => ({ rowCount: batch.n, meta: { n: batch.n, K: batch.K, D: batch.D } }))
      )
  })

