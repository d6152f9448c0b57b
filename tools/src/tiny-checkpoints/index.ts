/**
 * makeTinyCheckpoint: a random Hugging Face-format model directory (config.json, generation_config.json,
 * model.safetensors or model-0000i-of-0000N.safetensors + model.safetensors.index.json, tokenizer.json,
 * tokenizer_config.json) for tests and smoke tests. Deterministic: same options -> same bytes.
 * Earlier model*.safetensors / index files in the directory are removed first, so a directory never
 * holds a stale mix of single-file and sharded weights.
 */
import { planShards, writeShardedSafetensors } from "@conceptscope/safetensors"
import { mkdir, readdir, rm, writeFile } from "node:fs/promises"
import { join, resolve } from "node:path"
import { ARCHS, type Arch, buildConfig, type Config, type Dtype, generationConfig, maxLength, SAFETENSORS_DTYPE, SIZES, type Size } from "./configs.js"
import { tokenizerConfigJson, tokenizerJson } from "./tokenizer.js"
import { type InitProfile, tensorSpecs, tensorValues } from "./weights.js"

export { ARCHS, SIZES, buildConfig, type Arch, type Config, type Dtype, type Size } from "./configs.js"
export { tokenizerLayout } from "./tokenizer.js"
export { parameterCount, tensorSpecs, type TensorSpec } from "./weights.js"

export const DTYPES: readonly Dtype[] = ["f32", "bf16", "f16"]

export interface TinyCheckpointOptions {
  readonly arch: Arch
  readonly out: string // directory, created if missing
  readonly dtype?: Dtype // default f32
  readonly shards?: number // default 1: one model.safetensors
  readonly seed?: number // uint32, default 0
  readonly size?: Size // default tiny
  readonly set?: readonly string[] // config overrides "key=value" (see applySets)
  readonly init?: InitProfile // default: lively for tiny, hf for 100m
  readonly onFile?: (path: string, bytes: number) => void // called after each file is written
}

export interface TinyCheckpoint {
  readonly dir: string // absolute
  readonly config: Config // as written to config.json
  readonly files: string[] // absolute paths, in the order written
}

const WEIGHT_FILE = /^model(-\d{5}-of-\d{5})?\.safetensors(\.index\.json)?$/

function check(opts: TinyCheckpointOptions): Required<Omit<TinyCheckpointOptions, "onFile">> {
  const { arch, out, dtype = "f32", shards = 1, seed = 0, size = "tiny", set = [] } = opts
  if (!ARCHS.includes(arch)) throw new Error(`unknown arch "${arch}" (one of ${ARCHS.join(", ")})`)
  if (typeof out !== "string" || out === "") throw new Error("out directory missing")
  if (!DTYPES.includes(dtype)) throw new Error(`unknown dtype "${dtype}" (one of ${DTYPES.join(", ")})`)
  if (!SIZES.includes(size)) throw new Error(`unknown size "${size}" (one of ${SIZES.join(", ")})`)
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`shards must be a positive integer, got ${shards}`)
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`seed must be an integer in [0, 2^32), got ${seed}`)
  const init = opts.init ?? (size === "tiny" ? "lively" : "hf")
  if (init !== "lively" && init !== "hf") throw new Error(`unknown init "${init}"`)
  return { arch, out, dtype, shards, seed, size, set, init }
}

export async function makeTinyCheckpoint(opts: TinyCheckpointOptions): Promise<TinyCheckpoint> {
  const o = check(opts)
  const config = buildConfig(o.arch, o.size, o.dtype, o.set)
  const stored = SAFETENSORS_DTYPE[o.dtype]
  const specs = tensorSpecs(o.arch, config, o.init).map((s) => ({ ...s, dtype: stored }))
  const plan = planShards(specs, o.shards) // throws before anything is written
  const dir = resolve(o.out)
  await mkdir(dir, { recursive: true })
  for (const name of await readdir(dir)) if (WEIGHT_FILE.test(name)) await rm(join(dir, name))

  const files: string[] = []
  const done = (path: string, bytes: number) => {
    files.push(path)
    opts.onFile?.(path, bytes)
  }
  const json = async (name: string, value: unknown) => {
    const text = JSON.stringify(value, null, 2) + "\n"
    await writeFile(join(dir, name), text)
    done(join(dir, name), Buffer.byteLength(text))
  }

  await json("config.json", config)
  await json("generation_config.json", generationConfig(config))
  // model.safetensors, or model-0000i-of-0000N.safetensors + model.safetensors.index.json
  await writeShardedSafetensors(dir, plan, (t) => tensorValues(t, o.seed), { metadata: { format: "pt" }, onFile: done })
  await json("tokenizer.json", tokenizerJson(o.arch))
  await json("tokenizer_config.json", tokenizerConfigJson(o.arch, maxLength(config)))
  return { dir, config, files }
}
