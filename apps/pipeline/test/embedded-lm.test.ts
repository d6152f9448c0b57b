import { buildTokenizer, CausalLM, initBackend, loadTokenizer } from "@conceptscope/model-runners"
import { bitwiseFamily, DEFAULT_CORPUS, DEFAULT_TEMPLATE, episode, posFamily, PTB_MAPPING, readCorpus, renderPrompt } from "@conceptscope/task-generators"
import { Rng } from "@conceptscope/core"
import * as tf from "@tensorflow/tfjs"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { readParquetFile, recordsFromTable } from "@conceptscope/artifacts"
import { DEFAULT_INSTRUCTIONS } from "../src/experiments/llm-config.js"
import { answerTokens, corpusOptions, type EmbeddedParams } from "../src/stages/shared/embedded-lm.js"
import { CLI, tinyEmbeddedLlm, tmp, writeConfig } from "./helpers.js"

/**
 * The embedded LM: its pretraining corpus never shows an evaluation query (checked against the families'
 * test splits, rebuilt independently), and the lm-model stage pretrains a tiny Llama, writes a Hugging Face
 * directory into its artifact that the runner loads, and is cached on a rerun.
 */
const params = (splitSeed: number): EmbeddedParams => ({
  size: { nLayers: 1, dModel: 16, nHeads: 2, nKvHeads: 1, intermediate: 32 },
  vocabWords: 50,
  corpus: { familyWeights: { pos: 1, bitwise: 1 }, weights: { AND: 5 }, nullFraction: 0.1, instructedFraction: 0.2, plainFraction: 0.2, taggedFraction: 0, minShots: 0, maxShots: 4, tokenizerDocs: 50 },
  train: { steps: 3, batchSize: 2, maxTokens: 64, lr: 1e-3, warmupSteps: 1, gradClip: 1, checkpoints: 1, lossOn: "answers" },
  pos: { corpus: null, sha256: "x", mapping: PTB_MAPPING, testFraction: 0.2 },
  bitwise: { width: 5, testFraction: 0.2 },
  template: DEFAULT_TEMPLATE,
  instructions: DEFAULT_INSTRUCTIONS,
  splitSeed
})

describe("the embedded LM's pretraining corpus", () => {
  it("holds only train-split inputs of both families, unequal concept frequencies and instructed episodes", () => {
    const p = params(3)
    const opts = corpusOptions(p)
    // the test splits as the prompts stage draws them for seed 3
    const rng = new Rng(0)
    const bits = bitwiseFamily({ width: 5, testFraction: 0.2, splitSeed: 3 })
    const bitTest = new Set(bits.examples("AND", "test", bits.testSize, rng).map((e) => e.input))
    const pos = posFamily(readCorpus(DEFAULT_CORPUS), { mapping: PTB_MAPPING, testFraction: 0.2, splitSeed: 3 })
    const posTest = pos.examples("Noun", "test", pos.testSize, rng).map((e) => e.input)
    expect(bitTest.size).toBe(Math.round(1024 * 0.2)) // every test pair
    const counts = new Map<string, number>()
    let instructed = 0
    for (let i = 0; i < 1500; i++) {
      const e = episode(opts, 12345, i)
      if (e.label) counts.set(e.label, (counts.get(e.label) ?? 0) + 1)
      if (e.instructed) instructed++
      for (const m of e.text.matchAll(/Input: ([01]{5} [01]{5})\n/g)) expect(bitTest.has(m[1]), `test pair ${m[1]} in document ${i}`).toBe(false)
      for (const s of posTest) expect(e.text.includes(s), `test sentence in document ${i}`).toBe(false)
    }
    expect(counts.get("AND")!).toBeGreaterThan(2.5 * counts.get("XOR")!) // weight 5 against 1
    expect(instructed).toBeGreaterThan(100)
  })
})

describe("answer tokens of a packed row", () => {
  it("are exactly the tokens of the demonstrations' and the query's outputs", () => {
    const examples = [
      { input: "01101 10010", output: "11111" },
      { input: "The cat sat on the mat .", output: "cat" },
      { input: "00000 11111", output: "00000" }
    ]
    const r = renderPrompt(DEFAULT_TEMPLATE, examples.slice(0, 2), examples[2], "Compute the bitwise OR of the two numbers.")
    const text = r.prompt + r.answer
    const built = buildTokenizer([text, "Input: Output: plain words here"], { vocabSize: 50 })
    const dir = tmp("cs-tok-")
    fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(built.tokenizer))
    const tok = loadTokenizer(dir)
    const markers = { output: tok.encode("Output:", { addSpecialTokens: false }), input: tok.encode("Input:", { addSpecialTokens: false }), eos: built.eosId, bos: built.bosId }
    const row = [...tok.encode(text), built.eosId, ...tok.encode("plain words here"), built.eosId]
    const mask = answerTokens(row, markers)
    const scored = row.filter((_, i) => mask[i] === 1)
    expect(tok.decode(scored).replace(/ /g, "")).toBe(examples.map((e) => e.output).join(""))
  })
})

describe("the lm-model stage on an embedded LM", () => {
  const work = tmp("cs-emb-")
  const store = path.join(work, "store")
  const cfg = tinyEmbeddedLlm()
  /** stdout and stderr of a sweep through lm-model (it must succeed) */
  const sweep = () => {
    const r = spawnSync(process.execPath, [CLI, "sweep", "--config", path.join(work, "tiny.json"), "--store", store, "--out", path.join(work, "out"), "--until", "lm-model"], { encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
    return r.stdout + r.stderr
  }
  let first = ""
  beforeAll(async () => {
    writeConfig(work, cfg)
    first = sweep()
    await initBackend("auto")
  })

  it("writes a Hugging Face directory that the runner loads, with its tokenizer", () => {
    const stageDir = path.join(store, "lm-model")
    const [key] = fs.readdirSync(stageDir).filter((d) => !d.startsWith("."))
    const modelDir = path.join(stageDir, key, "model")
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]) expect(fs.existsSync(path.join(modelDir, f)), f).toBe(true)
    const manifest = JSON.parse(fs.readFileSync(path.join(stageDir, key, "manifest.json"), "utf8"))
    expect(manifest.meta).toMatchObject({ dir: "model", modelType: "llama", nLayers: 2, dModel: 16 })
    expect(manifest.meta.pretraining.finalLoss).toBeGreaterThan(0)
    const lm = CausalLM.load(modelDir)
    const tok = loadTokenizer(modelDir)
    const ids = tok.encode("Input: 00101 11100\nOutput: 00100")
    expect(ids[0]).toBe(1) // BOS
    const { logits } = lm.forward({ ids: [ids] })
    expect(logits!.shape).toEqual([1, ids.length, lm.arch.dims.vocab])
    expect(Number.isFinite(tf.sum(logits!).dataSync()[0])).toBe(true)
    tf.dispose(logits!)
    lm.dispose()
  })

  it("publishes its pretraining checkpoints as Hugging Face directories, the last one the final model", () => {
    const stageDir = path.join(store, "lm-model")
    const [key] = fs.readdirSync(stageDir).filter((d) => !d.startsWith("."))
    const meta = JSON.parse(fs.readFileSync(path.join(stageDir, key, "manifest.json"), "utf8")).meta
    expect(meta.checkpoints.map((c: { step: number }) => c.step)).toEqual([0, 4])
    const first = path.join(stageDir, key, meta.checkpoints[0].dir)
    const last = path.join(stageDir, key, meta.checkpoints[1].dir)
    expect(fs.readFileSync(path.join(last, "model.safetensors"))).toEqual(fs.readFileSync(path.join(stageDir, key, "model", "model.safetensors")))
    expect(fs.readFileSync(path.join(first, "model.safetensors"))).not.toEqual(fs.readFileSync(path.join(last, "model.safetensors")))
    const lm = CausalLM.load(first)
    expect(lm.arch.dims.nLayers).toBe(2)
    lm.dispose()
  })

  it("is cached: a second sweep trains nothing", () => {
    expect(first).toMatch(/lm-model\] computed/)
    const again = sweep()
    expect(again).toMatch(/lm-model\] cache hit/)
    expect(again).not.toMatch(/pretrain\]/)
  })
})

describe("the trajectory stage over the embedded LM's pretraining checkpoints", () => {
  const work = tmp("cs-emb-traj-")
  const store = path.join(work, "store")
  const out = path.join(work, "out")
  const base = tinyEmbeddedLlm()
  const cfg = tinyEmbeddedLlm({ name: "emb-traj", shots: [1, 2], model: { embedded: { ...base.model.embedded, train: { ...base.model.embedded.train, checkpoints: 3 } } }, trajectory: { checkpoints: "embedded" } })
  beforeAll(() => {
    const r = spawnSync(process.execPath, [CLI, "sweep", "--config", writeConfig(work, cfg), "--store", store, "--out", out], { encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
  }, 300_000)

  it("evaluates every checkpoint; the last one's numbers are lm-run's and lm-td's for the final model", async () => {
    const s = JSON.parse(fs.readFileSync(path.join(out, "emb-traj/summary.json"), "utf8"))
    const t = s.llm.bitwise.trajectory
    expect(t.steps).toHaveLength(3)
    expect(t.steps[0]).toBe(0)
    expect(t.steps[2]).toBe(4)
    expect(t.shots).toBe(2) // the largest shot count
    const artifact = (kind: string) => path.join(store, kind, fs.readdirSync(path.join(store, kind)).find((k) => !k.startsWith("."))!)
    const read = async (f: string) => recordsFromTable(await readParquetFile(f))
    const prompts = await read(path.join(artifact("prompts"), "prompts.parquet"))
    const answers = await read(path.join(artifact("lm-run"), "answers.parquet"))
    const acc = [0, 1, 2, 3, 4, 5].map((c) => {
      const mine = prompts.filter((p) => p.shots === 2 && !p.instructed && p.label_index === c)
      return mine.filter((p) => answers[p.row as number].correct).length / mine.length
    })
    expect(t.accuracyMean[2]).toBeCloseTo(acc.reduce((a, x) => a + x, 0) / 6, 10)
    const td = await read(path.join(artifact("lm-td"), "td.parquet"))
    const at = td.find((r) => r.condition === "icl" && r.shots === 2 && r.layer === t.layer)!
    expect(t.tdMean[2]).toBeCloseTo(Array.from(at.per_concept_heldout as number[]).slice(0, 6).reduce((a, x) => a + x, 0) / 6, 10)
    expect(t.coupling).toHaveProperty("pValue")
    expect(s.llm.findings.map((f: { id: string }) => f.id)).toContain("bitwise.trajectory-rise-together")
    expect(fs.readFileSync(path.join(out, "emb-traj/bitwise/seed-2/report.md"), "utf8")).toMatch(/## Over training checkpoints \(2 shots\)/)
  })
})
