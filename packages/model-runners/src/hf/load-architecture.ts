import * as path from "node:path"
import { ModelConfigError } from "../errors.js"
import { ConfigReader, type Architecture } from "./architecture.js"
import { gemma2FromConfig } from "./gemma2.js"
import { gpt2FromConfig } from "./gpt2.js"
import { Llama, llamaFromConfig } from "./llama.js"
import { olmoFromConfig } from "./olmo.js"

/** The model_types this package runs. */
export const SUPPORTED_MODEL_TYPES = ["llama", "mistral", "qwen2", "gemma2", "olmo", "gpt2"] as const

/** Architecture for a checkpoint's config.json; unknown model_type or unsupported fields are errors naming them. */
export function architectureFor(dir: string, config: Readonly<Record<string, unknown>>, tensorNames: readonly string[]): Architecture {
  const c = new ConfigReader(path.join(dir, "config.json"), config)
  const type = config.model_type
  switch (type) {
    case "llama":
    case "mistral":
    case "qwen2":
      return new Llama(llamaFromConfig(c, type))
    case "gemma2":
      return gemma2FromConfig(c)
    case "olmo":
      return olmoFromConfig(c)
    case "gpt2":
      return gpt2FromConfig(c, tensorNames.some((n) => n.startsWith("transformer.")))
    default:
      throw new ModelConfigError({
        field: `${path.join(dir, "config.json")}: model_type`,
        reason: `${JSON.stringify(type)} is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(", ")})`
      })
  }
}
