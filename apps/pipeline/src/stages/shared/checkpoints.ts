import { type ArtifactRef, readJson, StageError } from "@conceptscope/artifacts"
import { RegressionTransformer } from "@conceptscope/model-runners"
import { Effect, Schema } from "effect"
import * as path from "node:path"

/** `checkpoints.json` of a training-run artifact: the saved steps and their files (relative to the artifact). */
export const CheckpointList = Schema.Array(Schema.Struct({ step: Schema.Int, file: Schema.String }))
export type CheckpointList = Schema.Schema.Type<typeof CheckpointList>

export const readCheckpoints = (run: ArtifactRef) => readJson(CheckpointList, run.dir, "checkpoints.json")

/** The checkpoint of a run at `step`, or a StageError naming the run and the step. */
export const checkpointAt = (stage: string, run: ArtifactRef, step: number) =>
  Effect.flatMap(readCheckpoints(run), (list) => {
    const ck = list.find((c) => c.step === step)
    return ck ? Effect.succeed(ck) : Effect.fail(new StageError({ stage, reason: `${run.dir}/checkpoints.json: no checkpoint at step ${step}` }))
  })

/** A model loaded from a checkpoint (`file` relative to the run artifact), disposed when the scope closes. */
export const loadModel = (stage: string, run: ArtifactRef, file: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => RegressionTransformer.load(path.join(run.dir, file)),
      catch: (e) => new StageError({ stage, reason: `${path.join(run.dir, file)}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`, cause: e })
    }),
    (m) => Effect.sync(() => m.dispose())
  )
