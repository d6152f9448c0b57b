import { decode, f16BitsToF32, f32ToBf16Bits } from "@conceptscope/safetensors"
import { Tokenizer } from "@huggingface/tokenizers"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { ARCHS, type Arch, buildConfig, makeTinyCheckpoint, parameterCount, tensorSpecs } from "../src/tiny-checkpoints/index.js"
import { fillNormal } from "../src/tiny-checkpoints/prng.js"

const root = mkdtempSync(join(tmpdir(), "tiny-ckpt-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshDir = (tag: string) => join(root, `${tag}-${n++}`)

// ---- an independent safetensors header parser ----
interface Entry { dtype: string; shape: number[]; data_offsets: [number, number] }
function parseSafetensors(path: string) {
  const buf = readFileSync(path)
  const len = Number(buf.readBigUInt64LE(0))
  const text = buf.subarray(8, 8 + len).toString("utf8")
  expect(len % 8).toBe(0)
  expect(text.trimEnd().endsWith("}")).toBe(true)
  expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true) // padding is spaces
  const header = JSON.parse(text) as Record<string, unknown>
  expect(header.__metadata__).toEqual({ format: "pt" })
  delete header.__metadata__
  const tensors = header as Record<string, Entry>
  const width: Record<string, number> = { F32: 4, BF16: 2, F16: 2 }
  const spans = Object.values(tensors).map((t) => t.data_offsets).sort((a, b) => a[0] - b[0])
  let at = 0
  for (const t of Object.values(tensors)) expect(t.data_offsets[1] - t.data_offsets[0]).toBe(t.shape.reduce((a, b) => a * b, 1) * width[t.dtype])
  for (const [b, e] of spans) { expect(b).toBe(at); at = e } // contiguous, no gaps or overlaps
  expect(8 + len + at).toBe(buf.length)
  const bytes = (name: string) => buf.subarray(8 + len + tensors[name].data_offsets[0], 8 + len + tensors[name].data_offsets[1])
  return { tensors, bytes }
}
const shapesOf = (t: Record<string, Entry>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.shape]))

// ---- expected HF tensor names and shapes, derived from config.json alone ----
function expectedShapes(c: Record<string, any>): Record<string, number[]> {
  const s: Record<string, number[]> = {}
  if (c.model_type === "gpt2") {
    const d = c.n_embd, inner = c.n_inner ?? 4 * d
    s["transformer.wte.weight"] = [c.vocab_size, d]
    s["transformer.wpe.weight"] = [c.n_positions, d]
    for (let l = 0; l < c.n_layer; l++) {
      const p = `transformer.h.${l}`
      for (const ln of ["ln_1", "ln_2"]) { s[`${p}.${ln}.weight`] = [d]; s[`${p}.${ln}.bias`] = [d] }
      s[`${p}.attn.c_attn.weight`] = [d, 3 * d]; s[`${p}.attn.c_attn.bias`] = [3 * d]
      s[`${p}.attn.c_proj.weight`] = [d, d]; s[`${p}.attn.c_proj.bias`] = [d]
      s[`${p}.mlp.c_fc.weight`] = [d, inner]; s[`${p}.mlp.c_fc.bias`] = [inner]
      s[`${p}.mlp.c_proj.weight`] = [inner, d]; s[`${p}.mlp.c_proj.bias`] = [d]
    }
    s["transformer.ln_f.weight"] = [d]; s["transformer.ln_f.bias"] = [d]
    return s
  }
  const d = c.hidden_size, H = c.num_attention_heads, K = c.num_key_value_heads, hd = c.head_dim ?? d / H
  const I = c.intermediate_size, V = c.vocab_size
  s["model.embed_tokens.weight"] = [V, d]
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`
    s[`${p}.self_attn.q_proj.weight`] = [H * hd, d]
    s[`${p}.self_attn.k_proj.weight`] = [K * hd, d]
    s[`${p}.self_attn.v_proj.weight`] = [K * hd, d]
    s[`${p}.self_attn.o_proj.weight`] = [d, H * hd]
    if (c.model_type === "qwen2") { s[`${p}.self_attn.q_proj.bias`] = [H * hd]; s[`${p}.self_attn.k_proj.bias`] = [K * hd]; s[`${p}.self_attn.v_proj.bias`] = [K * hd] }
    s[`${p}.mlp.gate_proj.weight`] = [I, d]; s[`${p}.mlp.up_proj.weight`] = [I, d]; s[`${p}.mlp.down_proj.weight`] = [d, I]
    if (c.model_type !== "olmo") { s[`${p}.input_layernorm.weight`] = [d]; s[`${p}.post_attention_layernorm.weight`] = [d] }
    if (c.model_type === "gemma2") { s[`${p}.pre_feedforward_layernorm.weight`] = [d]; s[`${p}.post_feedforward_layernorm.weight`] = [d] }
  }
  if (c.model_type !== "olmo") s["model.norm.weight"] = [d]
  if (!c.tie_word_embeddings) s["lm_head.weight"] = [V, d]
  return s
}

const FAMILY: Record<Arch, { model_type: string; arch: string; bos: string | null; eos: string }> = {
  llama: { model_type: "llama", arch: "LlamaForCausalLM", bos: "<s>", eos: "</s>" },
  llama3: { model_type: "llama", arch: "LlamaForCausalLM", bos: "<|begin_of_text|>", eos: "<|end_of_text|>" },
  mistral: { model_type: "mistral", arch: "MistralForCausalLM", bos: "<s>", eos: "</s>" },
  qwen2: { model_type: "qwen2", arch: "Qwen2ForCausalLM", bos: null, eos: "<|endoftext|>" },
  gemma2: { model_type: "gemma2", arch: "Gemma2ForCausalLM", bos: "<bos>", eos: "<eos>" },
  olmo: { model_type: "olmo", arch: "OlmoForCausalLM", bos: null, eos: "<|endoftext|>" },
  gpt2: { model_type: "gpt2", arch: "GPT2LMHeadModel", bos: null, eos: "<|endoftext|>" } // GPT-2 adds no BOS
}

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"))

describe("tiny checkpoints, every arch", () => {
  for (const arch of ARCHS) {
    it(`${arch}: config, safetensors, tokenizer`, async () => {
      const out = freshDir(arch)
      const ck = await makeTinyCheckpoint({ arch, out, seed: 7 })
      expect(readdirSync(out).sort()).toEqual(
        ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
      )
      expect(ck.files.map((f) => f.slice(out.length + 1)).sort()).toEqual(readdirSync(out).sort())
      const c = readJson(join(out, "config.json"))
      expect(c).toEqual(ck.config)
      expect(c.model_type).toBe(FAMILY[arch].model_type)
      expect(c.architectures).toEqual([FAMILY[arch].arch])
      expect(c.torch_dtype).toBe("float32")
      expect(statSync(join(out, "model.safetensors")).size).toBeLessThan(300_000)

      const { tensors } = parseSafetensors(join(out, "model.safetensors"))
      expect(shapesOf(tensors)).toEqual(expectedShapes(c))
      expect(new Set(Object.values(tensors).map((t) => t.dtype))).toEqual(new Set(["F32"]))

      const tj = readJson(join(out, "tokenizer.json"))
      const tc = readJson(join(out, "tokenizer_config.json"))
      expect(tj.model.type).toBe("BPE")
      const ids = Object.values(tj.model.vocab as Record<string, number>).concat(tj.added_tokens.map((t: { id: number }) => t.id))
      expect(Math.max(...ids) + 1).toBeLessThanOrEqual(c.vocab_size)
      const tok = new Tokenizer(tj, tc)
      const enc = tok.encode("Hello world")
      const body = ["Hello", "Ġworld"] // the merges make both words single tokens
      const bos = FAMILY[arch].bos
      expect(enc.tokens).toEqual(bos === null ? body : [bos, ...body])
      expect(tc.add_bos_token).toBe(bos !== null)
      if (bos !== null) expect(enc.ids[0]).toBe(c.bos_token_id)
      expect(tok.token_to_id(FAMILY[arch].eos)).toBe(c.eos_token_id)
      expect(tok.decode(enc.ids, { skip_special_tokens: true })).toBe("Hello world")
      const other = tok.encode("naïve 123 ¿qué?\n")
      expect(tok.decode(other.ids, { skip_special_tokens: true })).toBe("naïve 123 ¿qué?\n")
      expect(Math.max(...other.ids)).toBeLessThan(c.vocab_size)
      const gen = readJson(join(out, "generation_config.json"))
      expect(gen.eos_token_id).toBe(c.eos_token_id)
    })
  }

  it("tiny presets have the requested awkward shapes", () => {
    const c = (a: Arch) => buildConfig(a, "tiny", "f32") as Record<string, any>
    expect(c("llama")).toMatchObject({ hidden_size: 24, num_attention_heads: 3, num_key_value_heads: 1, intermediate_size: 40, vocab_size: 300, rope_theta: 10000, tie_word_embeddings: false })
    expect(c("llama3")).toMatchObject({ hidden_size: 32, head_dim: 8, num_key_value_heads: 2, rope_theta: 500000, tie_word_embeddings: true,
      rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } })
    expect(c("mistral")).toMatchObject({ hidden_size: 24, num_attention_heads: 6, head_dim: 4, num_key_value_heads: 2, sliding_window: null })
    expect(c("qwen2")).toMatchObject({ hidden_size: 20, num_attention_heads: 5, num_key_value_heads: 1 })
    expect(c("gemma2")).toMatchObject({ hidden_size: 24, num_attention_heads: 2, head_dim: 16, num_hidden_layers: 4, sliding_window: 4,
      query_pre_attn_scalar: 16, attn_logit_softcapping: 2, final_logit_softcapping: 3, hidden_activation: "gelu_pytorch_tanh" })
    expect(c("olmo")).toMatchObject({ hidden_size: 24, num_key_value_heads: 3, clip_qkv: 0.5, tie_word_embeddings: false })
    expect(c("gpt2")).toMatchObject({ n_embd: 24, n_head: 3, n_layer: 2, n_positions: 64, vocab_size: 300 })
  })
})

describe("determinism, sharding, dtypes", () => {
  const filesOf = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f))]))

  it("same seed -> identical bytes; another seed -> other weights", async () => {
    for (const arch of ["gemma2", "gpt2"] as const) {
      const a = await makeTinyCheckpoint({ arch, out: freshDir("a"), seed: 3, dtype: "bf16", shards: 2 })
      const b = await makeTinyCheckpoint({ arch, out: freshDir("b"), seed: 3, dtype: "bf16", shards: 2 })
      const c = await makeTinyCheckpoint({ arch, out: freshDir("c"), seed: 4, dtype: "bf16", shards: 2 })
      const fa = filesOf(a.dir), fb = filesOf(b.dir), fc = filesOf(c.dir)
      expect(Object.keys(fa)).toEqual(Object.keys(fb))
      for (const f of Object.keys(fa)) expect(Buffer.compare(fa[f], fb[f]), f).toBe(0)
      expect(Buffer.compare(fa["config.json"], fc["config.json"])).toBe(0)
      expect(Buffer.compare(fa["model-00001-of-00002.safetensors"], fc["model-00001-of-00002.safetensors"])).not.toBe(0)
    }
  })

  it("reproduces committed parity fixtures byte for byte (f32, f16, bf16 sharded)", async () => {
    // same options as tools/src/hf-parity-fixtures.ts; the fixtures were written by this tool
    const fixtures = join(process.cwd(), "packages", "model-runners", "test", "fixtures", "hf")
    const cases = [
      { name: "gpt2", arch: "gpt2", seed: 7 },
      { name: "qwen2-qkv-bias-f16", arch: "qwen2", dtype: "f16", seed: 4 },
      { name: "llama3-rope-scaling-bf16-sharded", arch: "llama3", dtype: "bf16", shards: 2, seed: 2 }
    ] as const
    for (const c of cases) {
      const ck = await makeTinyCheckpoint({ ...c, out: freshDir(c.name) })
      expect(ck.files.length).toBe(c.name.endsWith("sharded") ? 7 : 5)
      for (const f of ck.files) {
        const name = f.slice(ck.dir.length + 1)
        expect(Buffer.compare(readFileSync(f), readFileSync(join(fixtures, c.name, name))), `${c.name}/${name}`).toBe(0)
      }
    }
  })

  it("sharding: index covers every tensor, values independent of the layout", async () => {
    const one = await makeTinyCheckpoint({ arch: "llama", out: freshDir("one"), seed: 5 })
    const dir = freshDir("sharded")
    await makeTinyCheckpoint({ arch: "llama", out: dir, seed: 9 }) // a stale single file, to be replaced
    const three = await makeTinyCheckpoint({ arch: "llama", out: dir, seed: 5, shards: 3 })
    const names = ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"]
    expect(readdirSync(dir).filter((f) => f.startsWith("model")).sort()).toEqual([...names, "model.safetensors.index.json"].sort())
    const index = readJson(join(dir, "model.safetensors.index.json"))
    const single = parseSafetensors(join(one.dir, "model.safetensors"))
    expect(Object.keys(index.weight_map).sort()).toEqual(Object.keys(single.tensors).sort())
    let total = 0
    const seen = new Set<string>()
    for (const name of names) {
      const shard = parseSafetensors(join(dir, name))
      expect(Object.keys(shard.tensors).length).toBeGreaterThan(0)
      for (const [t, e] of Object.entries(shard.tensors)) {
        expect(index.weight_map[t]).toBe(name)
        expect(seen.has(t)).toBe(false)
        seen.add(t)
        total += e.data_offsets[1] - e.data_offsets[0]
        expect(Buffer.compare(shard.bytes(t), single.bytes(t)), t).toBe(0)
      }
    }
    expect(seen.size).toBe(Object.keys(single.tensors).length)
    expect(index.metadata.total_size).toBe(total)
    expect(three.files.filter((f) => f.endsWith(".safetensors")).length).toBe(3)
    await expect(makeTinyCheckpoint({ arch: "gpt2", out: freshDir("x"), shards: 1000 })).rejects.toThrow(/shards/)
  })

  it("bf16 is round-to-nearest-even of the f32 values; f16 within half precision", async () => {
    // the bit conversions themselves are tested in packages/safetensors/test/dtypes.test.ts
    const f = await makeTinyCheckpoint({ arch: "qwen2", out: freshDir("f32"), seed: 11 })
    const b = await makeTinyCheckpoint({ arch: "qwen2", out: freshDir("bf16"), seed: 11, dtype: "bf16" })
    const h = await makeTinyCheckpoint({ arch: "qwen2", out: freshDir("f16"), seed: 11, dtype: "f16" })
    expect(b.config.torch_dtype).toBe("bfloat16")
    expect(h.config.torch_dtype).toBe("float16")
    const F = parseSafetensors(join(f.dir, "model.safetensors"))
    const B = parseSafetensors(join(b.dir, "model.safetensors"))
    const H = parseSafetensors(join(h.dir, "model.safetensors"))
    const f32Scratch = new Float32Array(1), u32Scratch = new Uint32Array(f32Scratch.buffer)
    for (const name of Object.keys(F.tensors)) {
      expect(B.tensors[name].dtype).toBe("BF16")
      expect(H.tensors[name].dtype).toBe("F16")
      const ref = decode(F.bytes(name), "F32")
      const bb = B.bytes(name), hb = H.bytes(name)
      for (let i = 0; i < ref.length; i++) {
        const bits = bb.readUInt16LE(2 * i)
        u32Scratch[0] = bits << 16
        const bv = f32Scratch[0]
        expect(Math.abs(bv - ref[i])).toBeLessThanOrEqual(Math.abs(ref[i]) * 2 ** -8)
        expect(bits).toBe(f32ToBf16Bits(ref[i]))
        const hv = f16BitsToF32(hb.readUInt16LE(2 * i))
        expect(Math.abs(hv - ref[i])).toBeLessThanOrEqual(Math.abs(ref[i]) * 2 ** -11 + 2 ** -25)
      }
    }
  })
})

describe("regimes, presets, overrides, CLI", () => {
  const weights = async (arch: Arch) => {
    const ck = await makeTinyCheckpoint({ arch, out: freshDir(arch), seed: 0 })
    const st = parseSafetensors(join(ck.dir, "model.safetensors"))
    return { c: ck.config as Record<string, any>, w: (name: string) => decode(st.bytes(name), "F32") }
  }
  const gauss = (n: number, label: string) => fillNormal(new Float32Array(n), 123, label, 0, 1) // rms-1 stand-ins for normed states
  const matvec = (W: Float32Array, rows: number, x: Float32Array, row0 = 0, nrows = rows) => {
    const d = x.length, y = new Float32Array(nrows)
    for (let r = 0; r < nrows; r++) for (let j = 0; j < d; j++) y[r] += W[(row0 + r) * d + j] * x[j]
    return y
  }

  it("gemma2 weights push logits past both softcaps; olmo q/k/v past clip_qkv", async () => {
    const { c, w } = await weights("gemma2")
    const E = w("model.embed_tokens.weight"), d = c.hidden_size
    const logits = matvec(E, c.vocab_size, gauss(d, "h"))
    expect(Math.max(...logits.map(Math.abs))).toBeGreaterThan(c.final_logit_softcapping)
    const Wq = w("model.layers.0.self_attn.q_proj.weight"), Wk = w("model.layers.0.self_attn.k_proj.weight")
    let maxScore = 0
    for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) {
      const q = matvec(Wq, c.head_dim, gauss(d, `x${i}`)), k = matvec(Wk, c.head_dim, gauss(d, `x${j}`))
      maxScore = Math.max(maxScore, Math.abs(q.reduce((s, v, t) => s + v * k[t], 0)) / Math.sqrt(c.query_pre_attn_scalar))
    }
    expect(maxScore).toBeGreaterThan(c.attn_logit_softcapping)
    const o = await weights("olmo")
    const q = matvec(o.w("model.layers.0.self_attn.q_proj.weight"), o.c.hidden_size, gauss(o.c.hidden_size, "x"))
    expect(q.filter((v) => Math.abs(v) > o.c.clip_qkv).length).toBeGreaterThan(q.length / 4)
  })

  it("100m preset: ~100M parameters (shapes only, nothing written)", () => {
    for (const arch of ["llama", "llama3", "mistral"] as const) {
      const c = buildConfig(arch, "100m", "bf16")
      expect(c).toMatchObject({ hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, num_key_value_heads: 4, intermediate_size: 2048, vocab_size: 32000 })
      const p = parameterCount(tensorSpecs(arch, c, "hf"))
      expect(p).toBeGreaterThan(95e6)
      expect(p).toBeLessThan(105e6)
    }
  })

  it("--set overrides reshape the weights", async () => {
    const ck = await makeTinyCheckpoint({ arch: "llama3", out: freshDir("set"), set: ["num_hidden_layers=3", "config.rope_scaling.factor=4", "tie_word_embeddings=false"] })
    expect(ck.config).toMatchObject({ num_hidden_layers: 3, rope_scaling: { factor: 4, rope_type: "llama3" }, tie_word_embeddings: false })
    expect(shapesOf(parseSafetensors(join(ck.dir, "model.safetensors")).tensors)).toEqual(expectedShapes(ck.config))
    await expect(makeTinyCheckpoint({ arch: "gpt2", out: freshDir("v"), set: ["vocab_size=100"] })).rejects.toThrow(/vocab_size/)
  })

  it("CLI: one line per file; a one-line error and exit 1 on bad arguments", () => {
    const tsx = join(process.cwd(), "node_modules", ".bin", "tsx")
    const main = join(process.cwd(), "tools", "src", "tiny-checkpoints", "main.ts")
    const out = freshDir("cli")
    const src = "--conditions=@conceptscope/source" // workspace packages from their sources, built or not
    const stdout = execFileSync(tsx, [src, main, "--arch", "olmo", "--out", out, "--dtype", "f16", "--shards", "2", "--seed", "1"], { encoding: "utf8" })
    const lines = stdout.trim().split("\n")
    expect(lines.length).toBe(readdirSync(out).length)
    expect(lines.length).toBe(7)
    const bad = spawnSync(tsx, [src, main, "--arch", "bert", "--out", out], { encoding: "utf8" })
    expect(bad.status).toBe(1)
    expect(bad.stdout).toBe("")
    expect(bad.stderr.trim().split("\n")).toHaveLength(1)
    expect(bad.stderr).toMatch(/^error: unknown --arch "bert"/)
  })
})
