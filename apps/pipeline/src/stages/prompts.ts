import { defineStage, tableFromRecords } from "@conceptscope/artifacts"
import { buildPromptSet, type ConceptPrompt, PosMappingSchema, PromptTemplateSchema } from "@conceptscope/task-generators"
import { Effect, Schema } from "effect"
import { conceptFamily } from "./shared/families.js"
import { stageTry, writeTable } from "./shared/io.js"
import { PROMPTS_SPEC } from "./shared/llm-tables.js"

/**
 * The ICL prompts of one concept family: `perConcept` prompts per label (the six concepts and Null) at
 * every shot count, plus, when `promptingShots` is set, the same queries at that shot count with the
 * instruction naming the concept (the study's prompting condition). `prompts.parquet` (PROMPTS_SPEC).
 * The corpus enters the key by its content hash (`corpus.sha256`), not its path alone.
 */
export const PromptsParams = Schema.Struct({
  family: Schema.Literal("pos", "bitwise"),
  corpus: Schema.NullOr(Schema.Struct({ file: Schema.NullOr(Schema.String), sha256: Schema.String })),
  mapping: PosMappingSchema,
  width: Schema.Int,
  testFraction: Schema.Number,
  template: PromptTemplateSchema,
  shots: Schema.NonEmptyArray(Schema.Int),
  perConcept: Schema.Int,
  promptingShots: Schema.NullOr(Schema.Int),
  instructions: Schema.Record({ key: Schema.String, value: Schema.String }),
  seed: Schema.Int
})

export const PromptsMeta = Schema.Struct({
  labels: Schema.Array(Schema.String),
  prompts: Schema.Int,
  /** Queries available (the test split): prompts repeat queries when perConcept exceeds it. */
  testItems: Schema.Int
})

export const promptsStage = defineStage({
  name: "prompts",
  version: "1",
  schemaVersion: 1,
  params: PromptsParams,
  meta: PromptsMeta,
  run: ({ params, dir }: { params: typeof PromptsParams.Type; inputs: Record<never, never>; dir: string }) =>
    Effect.gen(function* () {
      const { family, testItems } = yield* stageTry("prompts", () => conceptFamily(params))
      const common = { perLabel: params.perConcept, seed: params.seed, template: params.template }
      const plain = yield* stageTry("prompts", () => buildPromptSet(family, { ...common, shots: params.shots, drawShots: Math.max(...params.shots, params.promptingShots ?? 0) }))
      const told: ConceptPrompt[] =
        params.promptingShots === null
          ? []
          : yield* stageTry("prompts", () => buildPromptSet(family, { ...common, shots: [params.promptingShots!], instructions: params.instructions, drawShots: Math.max(...params.shots, params.promptingShots!) }))
      const all = [...plain, ...told]
      const records = all.map((p, row) => ({ row, label: p.label, label_index: p.labelIndex, item: p.item, shots: p.shots, instructed: p.instructed, prompt: p.prompt, answer: p.answer }))
      yield* writeTable(dir, "prompts.parquet", tableFromRecords(PROMPTS_SPEC, records))
      return { rowCount: all.length, meta: { labels: [...family.labels], prompts: all.length, testItems } }
    })
})
