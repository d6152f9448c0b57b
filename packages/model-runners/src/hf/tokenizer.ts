import { Tokenizer } from "@huggingface/tokenizers"
import * as fs from "node:fs"
import * as path from "node:path"
import { CheckpointError } from "../errors.js"

/**
 * The checkpoint's tokenizer (`tokenizer.json` + `tokenizer_config.json`) through @huggingface/tokenizers.
 * `encode` applies the tokenizer's own post-processor, so BOS is added exactly when the checkpoint's
 * tokenizer adds it (Llama 3, Gemma: yes; GPT-2, Qwen2, OLMo: no).
 */
export interface LmTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[]
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string
}

export function loadTokenizer(dir: string): LmTokenizer {
  const file = path.join(dir, "tokenizer.json")
  if (!fs.existsSync(file)) throw new CheckpointError({ file, reason: "missing: the model directory has no tokenizer.json" })
  const read = (f: string) => {
    try {
      return JSON.parse(fs.readFileSync(f, "utf8")) as object
    } catch (e) {
      throw new CheckpointError({ file: f, reason: `not JSON: ${(e as Error).message}` })
    }
  }
  const cfgFile = path.join(dir, "tokenizer_config.json")
  const tok = new Tokenizer(read(file), fs.existsSync(cfgFile) ? read(cfgFile) : {})
  return {
    encode: (text, opts = {}) => tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids,
    decode: (ids, opts = {}) => tok.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false })
  }
}
