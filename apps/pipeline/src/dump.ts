import { CausalLM, initBackend, loadTokenizer, type BackendPref } from "@conceptscope/model-runners"
import { saveSafetensors, type TensorData } from "@conceptscope/safetensors"
import { ParamsError } from "@conceptscope/artifacts"
import * as tf from "@tensorflow/tfjs"
import * as fs from "node:fs"

/**
 * `conceptscope dump`: run a local Hugging Face model directory on token ids (or a text) and write the
 * logits and hooks to one safetensors file, for comparisons with other implementations:
 *   logits [batch, pos, vocab], hook_embed and blocks.{l}.hook_resid_post [batch, pos, d_model]
 *   (default hooks; --hooks takes any hook names, comma-separated), all float32.
 */
export interface DumpOptions {
  readonly model: string
  readonly ids?: string
  readonly text?: string
  readonly out: string
  readonly hooks?: string
  readonly streamed: boolean
  /** write NaN / Inf outputs instead of failing at the first layer that produced them */
  readonly allowNonFinite?: boolean
  readonly backend: BackendPref
}

/** ids.json: a non-empty list of equal-length lists of non-negative integers. */
export function readIdsFile(file: string): number[][] {
  let raw: unknown
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"))
  } catch (e) {
    throw new ParamsError({ file, field: "(root)", reason: `not readable JSON: ${(e as Error).message.split("\n")[0]}` })
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new ParamsError({ file, field: "(root)", reason: "expected a non-empty list of lists of token ids" })
  const T = Array.isArray(raw[0]) ? raw[0].length : -1
  raw.forEach((row, b) => {
    if (!Array.isArray(row) || row.length !== T || T === 0) throw new ParamsError({ file, field: `[${b}]`, reason: `expected a list of ${T > 0 ? T : "one or more"} token ids (rows must have equal length)` })
    row.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0) throw new ParamsError({ file, field: `[${b}][${t}]`, reason: `${JSON.stringify(id)} is not a token id` })
    })
  })
  return raw as number[][]
}

export async function runDump(o: DumpOptions): Promise<string> {
  await initBackend(o.backend)
  let ids: number[][]
  if (o.ids !== undefined) ids = readIdsFile(o.ids)
  else if (o.text !== undefined) ids = [loadTokenizer(o.model).encode(o.text)]
  else throw new ParamsError({ file: "--ids", field: "ids", reason: "give --ids <file.json> or --text <string>" })
  const model = CausalLM.load(o.model, { mode: o.streamed ? "streamed" : "auto" })
  try {
    const { vocab } = model.arch.dims
    ids.forEach((row, b) =>
      row.forEach((id, t) => {
        if (id >= vocab) throw new ParamsError({ file: o.ids ?? "--text", field: `[${b}][${t}]`, reason: `token id ${id} is outside the vocabulary 0..${vocab - 1} of ${o.model}` })
      })
    )
    const L = model.arch.dims.nLayers
    const hooks = o.hooks ? o.hooks.split(",").map((h) => h.trim()).filter(Boolean) : ["hook_embed", ...Array.from({ length: L }, (_, l) => `blocks.${l}.hook_resid_post`)]
    const { logits, captured } = (() => {
      try {
        return model.forward({ ids }, { capture: { hooks, positions: "all" }, allowNonFinite: o.allowNonFinite })
      } catch (e) {
        // on the command line the way to keep non-finite outputs is a flag
        if (e instanceof Error && e.message.includes("(allowNonFinite: true returns them)")) throw new Error(e.message.replace("(allowNonFinite: true returns them)", "(--allow-non-finite writes them)"))
        throw e
      }
    })()
    const tensors = new Map<string, TensorData>()
    const put = (name: string, t: tf.Tensor) => tensors.set(name, { shape: t.shape, data: t.dataSync() as Float32Array })
    if (logits) put("logits", logits)
    for (const h of hooks) put(h, captured[h])
    await saveSafetensors(o.out, tensors, { model: o.model, mode: model.mode, batch: String(ids.length), pos: String(ids[0].length) })
    tf.dispose([...(logits ? [logits] : []), ...Object.values(captured)])
    return `${o.out}: logits + ${hooks.length} hooks, ${ids.length} x ${ids[0].length} tokens (${model.arch.modelType}, ${model.mode})`
  } finally {
    model.dispose()
  }
}
