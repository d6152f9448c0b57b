import { type ArtifactRef, defineStage, tableFromRecords } from "@conceptscope/artifacts"
import { progress } from "@conceptscope/core"
import { evaluateRegression } from "@conceptscope/finetuners"
import { Effect, Schema } from "effect"
import { useTensorBackend } from "../backend.js"
import { loadModel, readCheckpoints } from "./shared/checkpoints.js"
import { readDataset } from "./shared/datasets.js"
import { stageTry, writeTable } from "./shared/io.js"
import { detectTwoCluster, lossByStep, TwoCluster } from "./shared/phases.js"
import { CURVES_SPEC } from "./shared/tables.js"

/**
 * The training curves: every checkpoint scored on the held-out set, per basis and per example index,
 * normalised so that predicting 0 scores 1. One row per (step, basis, k) in `curves.parquet`. Its
 * metadata holds the two-cluster stage detected from the per-basis loss (null when there is none).
 */
export const EvaluateParams = Schema.Struct({
  nBases: Schema.Int.pipe(Schema.positive()),
  batchSize: Schema.Int.pipe(Schema.positive()),
  /** the two-cluster rule (see detectTwoCluster) */
  learnedFactor: Schema.Number.pipe(Schema.greaterThan(1)),
  minLossRatio: Schema.Number.pipe(Schema.greaterThan(1))
})

export const EvaluateMeta = Schema.Struct({ twoCluster: TwoCluster })

export const evaluateStage = defineStage({
  name: "evaluate",
  version: "2",
  schemaVersion: 1,
  params: EvaluateParams,
  meta: EvaluateMeta,
  run: ({ params, inputs, dir }: { params: typeof EvaluateParams.Type; inputs: { train: ArtifactRef; evalset: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      yield* useTensorBackend
      const data = yield* readDataset(inputs.evalset)
      const checkpoints = yield* readCheckpoints(inputs.train)
      const rows: Record<string, number>[] = []
      const bar = progress("evaluate", checkpoints.length)
      for (const ck of checkpoints) {
        const r = yield* Effect.scoped(
          Effect.flatMap(loadModel("evaluate", inputs.train, ck.file), (model) =>
            stageTry("evaluate", () => evaluateRegression(model, { xs: data.xs, ys: data.ys, basis: data.basis, nBases: params.nBases }, params.batchSize))
          )
        )
        for (const [basis, perK] of r.nmsePerBasisIndex.entries()) perK.forEach((nmse, k) => rows.push({ step: ck.step, basis, k, mse: r.perBasisIndex[basis][k], nmse }))
        bar.tick(1, `step ${ck.step}`)
      }
      bar.done()
      yield* writeTable(dir, "curves.parquet", tableFromRecords(CURVES_SPEC, rows))
      const loss = lossByStep(rows as { step: number; basis: number; k: number; nmse: number }[])
      const steps = checkpoints.map((c) => c.step)
      const perBasis = Array.from({ length: params.nBases }, (_, b) => steps.map((s) => loss.find((l) => l.step === s && l.concept === b)?.nmse ?? NaN))
      return { rowCount: rows.length, meta: { twoCluster: detectTwoCluster(steps, perBasis, params) } }
    })
})

