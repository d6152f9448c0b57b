/**
 * Regenerates the parity fixtures of model-runners' Hugging Face architectures:
 *   npx tsx tools/src/hf-parity-fixtures.ts        (needs /usr/bin/python3 with Debian's python3-torch)
 * For each case: a tiny random checkpoint (tools/src/tiny-checkpoints) in
 * packages/model-runners/test/fixtures/hf/<case>/, token ids, and reference outputs computed by the
 * independent PyTorch implementation tools/torch/hf_reference.py (float64 internally, float32 out).
 * The fixtures are committed; tests never run Python.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { makeTinyCheckpoint } from "./tiny-checkpoints/index.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const out = path.join(root, "packages/model-runners/test/fixtures/hf")
const python = process.env.CONCEPTSCOPE_PYTHON ?? "/usr/bin/python3"

type Arch = Parameters<typeof makeTinyCheckpoint>[0]["arch"]
/** name, architecture, options: awkward shapes come from the tiny presets (see tiny-checkpoints/configs.ts). */
const CASES: { name: string; arch: Arch; dtype?: "f32" | "bf16" | "f16"; shards?: number; set?: string[]; seed: number }[] = [
  { name: "llama2-gqa3", arch: "llama", seed: 1 },
  { name: "llama3-rope-scaling-bf16-sharded", arch: "llama3", dtype: "bf16", shards: 2, seed: 2 },
  { name: "mistral-window3", arch: "mistral", set: ["sliding_window=3"], seed: 3 },
  { name: "qwen2-qkv-bias-f16", arch: "qwen2", dtype: "f16", seed: 4 },
  { name: "gemma2-softcap-window4", arch: "gemma2", seed: 5 },
  { name: "olmo-clip-qkv", arch: "olmo", seed: 6 },
  { name: "gpt2", arch: "gpt2", seed: 7 }
]

const main = async () => {
  fs.mkdirSync(out, { recursive: true })
  for (const c of CASES) {
    const dir = path.join(out, c.name)
    fs.rmSync(dir, { recursive: true, force: true })
    const { config } = await makeTinyCheckpoint({ arch: c.arch, out: dir, dtype: c.dtype, shards: c.shards, seed: c.seed, set: c.set })
    const V = Math.min(Number(config.vocab_size), 280) // ids inside the tokenizer's range too
    // two rows of 11 tokens: longer than every sliding window here; row 1's prefixes serve the padding tests
    let s = c.seed * 7919
    const ids = [0, 1].map(() => Array.from({ length: 11 }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) % V))
    fs.writeFileSync(path.join(dir, "ids.json"), JSON.stringify(ids))
    execFileSync(python, [path.join(root, "tools/torch/hf_reference.py"), "--model", dir, "--ids", path.join(dir, "ids.json"), "--out", path.join(dir, "reference.safetensors")], { stdio: "inherit" })
    console.log(`fixture ${c.name}: ${fs.readdirSync(dir).join(", ")}`)
  }
}

main().catch((e) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
