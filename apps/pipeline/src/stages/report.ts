import { type ArtifactRef, defineStage, NoMeta, StageError } from "@conceptscope/artifacts"
import { renderReportEffect } from "@conceptscope/reporters"
import { Effect, Schema } from "effect"
import { reportInput } from "./shared/report-input.js"
import { HeadsSummary } from "./shared/llm-tables.js"
import { readJson } from "@conceptscope/artifacts"
import { readEmbeddings, readErrorCurves, readPatching, readTD, readTrainingCurves } from "./shared/tables.js"
import { TrainMeta } from "./shared/train-params.js"
import { TwoCluster } from "./shared/phases.js"

/**
 * The cell's report, drawn from stored artifacts only: `report.html` (self-contained), `summary.json`,
 * `summary.md` and `figures/*.svg|png`. It depends on the results alone (no clock, no timings), so a
 * recomputation gives the same bytes. As an artifact of its own it is cached like every stage, and
 * the sweep copies it to `<out>/<config>/seed-<seed>/`.
 */
export const ReportParams = Schema.Struct({
  title: Schema.String,
  configName: Schema.String,
  description: Schema.String,
  /** the config, shown in the report's parameters block */
  config: Schema.Unknown,
  notes: Schema.Array(Schema.String),
  criteria: Schema.Struct({
    maxFinalNmse: Schema.Number,
    maxTdFirstAboveChance: Schema.Number,
    minTdFinal: Schema.Number,
    minPatchingRatio: Schema.Number,
    maxCouplingPValue: Schema.Number
  }),
  /** display names of the concepts (B1.. or the regression families) */
  concepts: Schema.Array(Schema.String),
  /** the task in words, and what the basis-knowing reference solves (null: no basis), for captions */
  taskDescription: Schema.String,
  oracleDescription: Schema.NullOr(Schema.String),
  /** the report position and layer, and how the layer was chosen */
  position: Schema.Int,
  layer: Schema.Int,
  layerChosenOn: Schema.String,
  queryPosition: Schema.Int,
  queryLayer: Schema.Int,
  queryLayerChosenOn: Schema.String,
  patchingLayer: Schema.Int,
  patchingLayerChosenOn: Schema.String,
  patchingPositions: Schema.String,
  twoCluster: TwoCluster,
  groups: Schema.NullOr(Schema.Array(Schema.Int)),
  couplingSurrogates: Schema.Int.pipe(Schema.positive()),
  seed: Schema.Int,
  nExamples: Schema.Int.pipe(Schema.positive())
})

type ReportInputs = {
  evalset: ArtifactRef
  probeset: ArtifactRef
  train: ArtifactRef
  evaluate: ArtifactRef
  extract: ArtifactRef
  probe: ArtifactRef
  embed: ArtifactRef
  patch: ArtifactRef
  curves: ArtifactRef
  heads: ArtifactRef
}

export const reportStage = defineStage({
  name: "report",
  version: "2",
  schemaVersion: 2,
  params: ReportParams,
  meta: NoMeta,
  run: ({ params, inputs, dir }: { params: typeof ReportParams.Type; inputs: ReportInputs; dir: string }) =>
    Effect.gen(function* () {
      const train = yield* Schema.decodeUnknown(TrainMeta)(inputs.train.manifest.meta).pipe(
        Effect.mapError((e) => new StageError({ stage: "report", reason: `${inputs.train.dir}/manifest.json: meta: ${e.message.split("\n")[0]}` }))
      )
      const refs = Object.entries(inputs) as [string, ArtifactRef][]
      const input = reportInput({
        ...params,
        backend: train.backend,
        curves: yield* readTrainingCurves(inputs.evaluate),
        td: yield* readTD(inputs.probe),
        embeddings: yield* readEmbeddings(inputs.embed),
        patching: yield* readPatching(inputs.patch),
        errors: yield* readErrorCurves(inputs.curves),
        heads: yield* readJson(HeadsSummary, inputs.heads.dir, "heads.json"),
        artifactKeys: Object.fromEntries(refs.map(([stage, ref]) => [stage, `${ref.kind}/${ref.key}`]))
      })
      yield* renderReportEffect(input, dir)
      return { rowCount: 1, meta: {} }
    })
})
