import { type ArtifactRef, readJson, StageError } from "@conceptscope/artifacts"
import { RegressionTransformer } from "@conceptscope/model-runners"
import { Effect, Schema } from "effect"
import * as path from "node:path"

/** `checkpoints.json` of a training-run artifact: the saved steps and their files. */
export const CheckpointList = Schema.Array(Schema.Struct({ step: Schema.Int, file: Schema.String }))
export type CheckpointList = Schema.Schema.Type<typeof CheckpointList>

export const readCheckpoints = (run: ArtifactRef) => readJson(CheckpointList, run.dir, "checkpoints.json")

/** A model loaded from a checkpoint file, disposed when the scope closes. */
export const loadModel = (stage: string, file: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => RegressionTransformer.load(file),
      catch: (e) => new StageError({ stage, reason: `${file}: ${e instanceof Error ? e.message : String(e)}`, cause: e })
    }),
    (m) => Effect.sync(() => m.dispose())
  )

export const checkpointPath = (run: ArtifactRef, file: string) => path.join(run.dir, file)

/** Pick the checkpoints the report calls early, middle and final (by index in the saved list). */
export function stageCheckpoints(steps: readonly number[]): { early: number; middle: number; final: number } {
  const n = steps.length
  return { early: steps[Math.min(1, n - 1)], middle: steps[Math.floor((n - 1) / 2)], final: steps[n - 1] }
}
