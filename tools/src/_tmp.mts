import { Schema } from "effect"
import { LlmModelSchema, EmbeddedLmSchema } from "../../apps/pipeline/src/experiments/llm-config.js"
console.log(JSON.stringify(Schema.decodeUnknownEither(EmbeddedLmSchema)({})).slice(0, 400))
console.log(JSON.stringify(Schema.decodeUnknownEither(LlmModelSchema, { onExcessProperty: "error" })({ embedded: {} })).slice(0, 600))
