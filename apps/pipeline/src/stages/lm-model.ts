import { defineStage, hashFile } from "@conceptscope/artifacts"
import { HfCheckpoint } from "@conceptscope/model-runners"
import { Effect, Schema } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { useTensorBackend } from "../backend.js"
import { EmbeddedParams, pretrainEmbedded } from "./shared/embedded-lm.js"
import { stagePromise, stageTry } from "./shared/io.js"
import { CHECKPOINTS_DIR, EMBEDDED_MODEL_DIR, LmModelMeta } from "./shared/llm-tables.js"

/**
 * The model of the LLM experiment, from one of two sources:
 * - a local Hugging Face checkpoint (`source: "dir"`): the stage's key holds the files' sizes and
 *   modification times (cheap to read at sweep start); the artifact records the directory;
 * - the embedded LM (`source: "embedded"`): pretrained here (shared/embedded-lm.ts, resumable in the
 *   store's work directory) and written as a Hugging Face directory inside the artifact (`model/`), its
 *   pretraining checkpoints too (`checkpoints/step-N/`, listed in the metadata with their steps).
 * Either way the metadata holds the content fingerprint (sha256 over the xxh64 of every file the runner
 * reads), so the downstream keys follow the model's content, not its path, and the dimensions.
 */
export const LmModelParams = Schema.Union(
  Schema.Struct({
    source: Schema.Literal("dir"),
    dir: Schema.String,
    files: Schema.Array(Schema.Struct({ name: Schema.String, size: Schema.Number, mtimeMs: Schema.Number }))
  }),
  Schema.Struct({ source: Schema.Literal("embedded"), embedded: EmbeddedParams })
)

const MODEL_FILE = /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|.*\.safetensors(\.index\.json)?)$/

/** The files of a checkpoint directory that define the model (read by the sweep to key this stage). */
export function modelFiles(dir: string): { name: string; size: number; mtimeMs: number }[] {
  const names = fs.readdirSync(dir).filter((f) => MODEL_FILE.test(f))
  return names.sort().map((name) => {
    const st = fs.statSync(path.join(dir, name))
    return { name, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) }
  })
}

async function fingerprintOf(dir: string): Promise<string> {
  const out: string[] = []
  for (const f of modelFiles(dir)) out.push(`${f.name}:${await hashFile(path.join(dir, f.name))}`)
  return createHash("sha256").update(out.join("\n")).digest("hex").slice(0, 32)
}

function dimsOf(dir: string) {
  const ckpt = HfCheckpoint.open(dir)
  try {
    const c = ckpt.config as Record<string, unknown>
    const num = (...keys: string[]) => Number(keys.map((k) => c[k]).find((v) => typeof v === "number") ?? 0)
    return { modelType: String(c.model_type ?? "unknown"), nLayers: num("num_hidden_layers", "n_layer"), dModel: num("hidden_size", "n_embd") }
  } finally {
    ckpt.close()
  }
}

export const lmModelStage = defineStage({
  name: "lm-model",
  version: "2",
  schemaVersion: 1,
  params: LmModelParams,
  meta: LmModelMeta,
  run: ({ params, dir, workDir }: { params: typeof LmModelParams.Type; inputs: Record<never, never>; dir: string; workDir: string }) =>
    Effect.gen(function* () {
      if (params.source === "dir") {
        const fingerprint = yield* stagePromise("lm-model", () => fingerprintOf(params.dir))
        const info = yield* stageTry("lm-model", () => dimsOf(params.dir))
        return { rowCount: params.files.length, meta: { dir: params.dir, fingerprint, ...info, pretraining: null, checkpoints: [] } }
      }
      yield* useTensorBackend
      const out = path.join(dir, EMBEDDED_MODEL_DIR)
      const { checkpoints, ...pretraining } = yield* stagePromise("lm-model", () => pretrainEmbedded(params.embedded, out, workDir, path.join(dir, CHECKPOINTS_DIR)))
      const fingerprint = yield* stagePromise("lm-model", () => fingerprintOf(out))
      const info = yield* stageTry("lm-model", () => dimsOf(out))
      return { rowCount: modelFiles(out).length, meta: { dir: EMBEDDED_MODEL_DIR, fingerprint, ...info, pretraining, checkpoints } }
    })
})
