import { defineStage, hashFile } from "@conceptscope/artifacts"
import { HfCheckpoint } from "@conceptscope/model-runners"
import { Effect, Schema } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { stagePromise, stageTry } from "./shared/io.js"
import { LmModelMeta } from "./shared/llm-tables.js"

/**
 * The identity of a local Hugging Face checkpoint: the xxh64 of every file the runner reads (config,
 * tokenizer, weights), so the LLM stages' keys follow the model's content, not its path. The key of this
 * stage holds the files' sizes and modification times (cheap to read at sweep start); when they change
 * the content is hashed again, and downstream work is redone only if the content changed.
 * Its metadata records the directory, the fingerprint and the dimensions.
 */
export const LmModelParams = Schema.Struct({
  dir: Schema.String,
  files: Schema.Array(Schema.Struct({ name: Schema.String, size: Schema.Number, mtimeMs: Schema.Number }))
})

/** The files of a checkpoint directory that define the model (read by the sweep to key this stage). */
export function modelFiles(dir: string): { name: string; size: number; mtimeMs: number }[] {
  const names = fs.readdirSync(dir).filter((f) => /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|.*\.safetensors(\.index\.json)?)$/.test(f))
  return names.sort().map((name) => {
    const st = fs.statSync(path.join(dir, name))
    return { name, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) }
  })
}

export const lmModelStage = defineStage({
  name: "lm-model",
  version: "1",
  schemaVersion: 1,
  params: LmModelParams,
  meta: LmModelMeta,
  run: ({ params }: { params: typeof LmModelParams.Type; inputs: Record<never, never>; dir: string }) =>
    Effect.gen(function* () {
      const hashes = yield* stagePromise("lm-model", async () => {
        const out: string[] = []
        for (const f of params.files) out.push(`${f.name}:${await hashFile(path.join(params.dir, f.name))}`)
        return out
      })
      const fingerprint = createHash("sha256").update(hashes.join("\n")).digest("hex").slice(0, 32)
      const info = yield* stageTry("lm-model", () => {
        const ckpt = HfCheckpoint.open(params.dir)
        try {
          const c = ckpt.config as Record<string, unknown>
          const num = (...keys: string[]) => Number(keys.map((k) => c[k]).find((v) => typeof v === "number") ?? 0)
          return { modelType: String(c.model_type ?? "unknown"), nLayers: num("num_hidden_layers", "n_layer"), dModel: num("hidden_size", "n_embd") }
        } finally {
          ckpt.close()
        }
      })
      return { rowCount: params.files.length, meta: { dir: params.dir, fingerprint, ...info } }
    })
})
