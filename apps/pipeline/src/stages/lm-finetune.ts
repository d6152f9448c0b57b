import { type ArtifactRef, defineStage } from "@conceptscope/artifacts"
import { Rng } from "@conceptscope/core"
import { learningRateAt, trainLm, type LmBatch } from "@conceptscope/finetuners"
import { LORA_TARGETS, loadTokenizer, TrainableLlama } from "@conceptscope/model-runners"
import { NULL_CONCEPT, PosMappingSchema, PromptTemplateSchema, tokenizeEpisode } from "@conceptscope/task-generators"
import { Effect, Schema } from "effect"
import * as path from "node:path"
import { useTensorBackend } from "../backend.js"
import { conceptFamily } from "./shared/families.js"
import { stagePromise, stageTry } from "./shared/io.js"
import { ADAPTERS_DIR, readModelMeta } from "./shared/llm-tables.js"

/**
 * LoRA finetuning of the LM on chosen layer ranges (the study's Table 1: the first k layers vs the last
 * k), one adapter per variant, written in PEFT's layout under `adapters/<variant>/`. Training prompts are
 * ICL episodes of the family's concepts drawn from its train split only (no evaluation query is seen),
 * `minShots`..`maxShots` demonstrations; the loss is on the answer tokens of every example. Every variant
 * sees the same batches (drawn from (seed, step)), and each run resumes from its last saved step in the
 * store's work directory.
 */
export const LmFinetuneParams = Schema.Struct({
  fingerprint: Schema.String,
  source: Schema.Struct({
    family: Schema.Literal("pos", "bitwise"),
    corpus: Schema.NullOr(Schema.Struct({ file: Schema.NullOr(Schema.String), sha256: Schema.String })),
    mapping: PosMappingSchema,
    width: Schema.Int,
    testFraction: Schema.Number,
    seed: Schema.Int
  }),
  template: PromptTemplateSchema,
  lora: Schema.Struct({ r: Schema.Int, alpha: Schema.Number, dropout: Schema.Number, targets: Schema.NonEmptyArray(Schema.Literal(...LORA_TARGETS)) }),
  /** none when the config has no `finetune` (the stage then trains nothing) */
  variants: Schema.Array(Schema.Struct({ name: Schema.String, layers: Schema.NonEmptyArray(Schema.Int) })),
  train: Schema.Struct({ steps: Schema.Int, batchSize: Schema.Int, lr: Schema.Number, warmupSteps: Schema.Int, minShots: Schema.Int, maxShots: Schema.Int }),
  seed: Schema.Int
})

export const LmFinetuneMeta = Schema.Struct({
  variants: Schema.Array(Schema.Struct({ name: Schema.String, layers: Schema.Array(Schema.Int), firstLoss: Schema.NullOr(Schema.Number), finalLoss: Schema.NullOr(Schema.Number), msPerStep: Schema.Number }))
})

export const lmFinetuneStage = defineStage({
  name: "lm-finetune",
  version: "1",
  schemaVersion: 1,
  params: LmFinetuneParams,
  meta: LmFinetuneMeta,
  run: ({ params, inputs, dir, workDir }: { params: typeof LmFinetuneParams.Type; inputs: { "lm-model": ArtifactRef }; dir: string; workDir: string }) =>
    Effect.gen(function* () {
      if (params.variants.length === 0) return { rowCount: 0, meta: { variants: [] } }
      yield* useTensorBackend
      const { dir: modelDir } = yield* readModelMeta("lm-finetune", inputs["lm-model"])
      const { family } = yield* stageTry("lm-finetune", () => conceptFamily(params.source))
      const tok = yield* stageTry("lm-finetune", () => loadTokenizer(modelDir))
      const concepts = family.labels.filter((l) => l !== NULL_CONCEPT)
      const { train } = params
      // batch of step s: `batchSize` episodes, right-padded (causal attention keeps padding from earlier tokens)
      const sampleBatch = (s: number): LmBatch => {
        const rng = new Rng(params.seed).fork(`finetune-batch:${s}`)
        const episodes = Array.from({ length: train.batchSize }, () => {
          const label = concepts[rng.int(concepts.length)]
          const shots = train.minShots + rng.int(train.maxShots - train.minShots + 1)
          return tokenizeEpisode(tok, params.template, family.examples(label, "train", shots + 1, rng))
        })
        const T = Math.max(...episodes.map((e) => e.ids.length))
        const ids = new Int32Array(train.batchSize * T) // [B*T] row-major, padding 0
        const targets = new Int32Array(train.batchSize * T).fill(-1)
        episodes.forEach((e, b) => {
          ids.set(e.ids, b * T)
          for (let t = 0; t + 1 < e.ids.length; t++) if (e.answer[t + 1]) targets[b * T + t] = e.ids[t + 1]
        })
        return { ids, targets, B: train.batchSize, T }
      }
      const variants: (typeof LmFinetuneMeta.Type)["variants"][number][] = []
      for (const v of params.variants) {
        const model = yield* stageTry("lm-finetune", () => TrainableLlama.fromCheckpoint(modelDir))
        try {
          yield* stageTry("lm-finetune", () => model.attachLora({ ...params.lora, layers: v.layers }, params.seed))
          const result = yield* stagePromise("lm-finetune", () =>
            trainLm(model, {
              steps: train.steps,
              sampleBatch,
              adam: { lr: train.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
              clipGradNorm: 1,
              lrAt: (s) => learningRateAt({ decay: "cosine", warmupSteps: train.warmupSteps, finalFactor: 0.1 }, train.lr, s, train.steps),
              checkpoints: 2,
              runDir: path.join(workDir, v.name),
              label: `lora ${v.name}`
            })
          )
          yield* stagePromise("lm-finetune", () => model.lora!.save(path.join(dir, ADAPTERS_DIR, v.name), null))
          const n = result.losses.length
          variants.push({ name: v.name, layers: [...v.layers], firstLoss: n ? result.losses[0] : null, finalLoss: n ? result.losses[n - 1] : null, msPerStep: result.msPerStep })
        } finally {
          model.dispose()
        }
      }
      return { rowCount: variants.length, meta: { variants } }
    })
})
