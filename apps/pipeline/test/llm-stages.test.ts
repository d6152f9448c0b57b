import { ActivationReader } from "@conceptscope/activation-store"
import { readParquetFile, recordsFromTable } from "@conceptscope/artifacts"
import { CausalLM, initBackend, loadTokenizer, scoreTargets } from "@conceptscope/model-runners"
import { tokenizePrompt } from "@conceptscope/task-generators"
import * as tf from "@tensorflow/tfjs"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Effect } from "effect"
import { loadConfig } from "../src/index.js"
import { generatedCorrect, scoreBatch, stopTokens } from "../src/stages/shared/lm-scoring.js"
import { CLI, ROOT, tmp, writeConfig } from "./helpers.js"

/**
 * The LLM stages end to end on a tiny random Llama (model-runners' llama2-gqa3 fixture: 2 layers, width
 * 24, a 300-token BPE): prompts -> lm-run -> lm-td through the CLI, each output checked against an
 * independent computation: accuracy against the runner's own teacher-forced scoring of each prompt
 * alone, the stored residual against a forward pass of the prompt alone, TD against a brute-force
 * leave-one-out k-NN.
 */
const MODEL = path.join(ROOT, "packages/model-runners/test/fixtures/hf/llama2-gqa3")
const K = 3

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const rows = async (file: string): Promise<Record<string, any>[]> => recordsFromTable(await readParquetFile(file))

/** Brute-force leave-one-out k-NN (Euclidean, majority vote, ties to the nearest neighbour's label). */
function looKnnPerClass(X: Float32Array, y: Int32Array, d: number, C: number, k: number): number[] {
  const n = y.length
  const right = new Array(C).fill(0)
  const total = new Array(C).fill(0)
  for (let i = 0; i < n; i++) {
    const dist: [number, number][] = []
    for (let j = 0; j < n; j++) {
      if (j === i) continue
      let s = 0
      for (let t = 0; t < d; t++) s += (X[i * d + t] - X[j * d + t]) ** 2
      dist.push([s, j])
    }
    dist.sort((a, b) => a[0] - b[0] || a[1] - b[1])
    const votes = new Array(C).fill(0)
    for (const [, j] of dist.slice(0, k)) votes[y[j]]++
    const top = Math.max(...votes)
    const pred = dist.slice(0, k).find(([, j]) => votes[y[j]] === top)![1]
    total[y[i]]++
    if (y[pred] === y[i]) right[y[i]]++
  }
  return right.map((r, c) => r / total[c])
}

describe("LLM stages on a tiny Llama checkpoint", () => {
  const work = tmp("cs-llm-")
  const store = path.join(work, "store")
  const out = path.join(work, "out")
  let model: CausalLM
  beforeAll(async () => {
    const cfg = { experiment: "llm", name: "llm-tiny", description: "test", seeds: [1], model: { dir: MODEL }, families: ["bitwise"], shots: [1, 2], perConcept: 8, promptingShots: 2, taskVectors: { shots: 1 }, td: { k: K }, batchSize: 5 }
    execFileSync(process.execPath, [CLI, "sweep", "--config", writeConfig(work, cfg), "--store", store, "--out", out], { stdio: "pipe" })
    await initBackend("auto")
    model = CausalLM.load(MODEL)
  }, 300_000)
  afterAll(() => model?.dispose())

  const artifact = (kind: string) => path.join(store, kind, fs.readdirSync(path.join(store, kind)).find((k) => !k.startsWith("."))!)

  it("scores each prompt as the runner's teacher-forced scoring of that prompt alone does", async () => {
    const prompts = await rows(path.join(artifact("prompts"), "prompts.parquet"))
    const answers = await rows(path.join(artifact("lm-run"), "answers.parquet"))
    expect(prompts).toHaveLength(7 * 8 * 3) // 7 labels x 8 items x (shots 1, 2 + the instructed 2)
    const tok = loadTokenizer(MODEL)
    for (const i of [0, 17, 80, 150, prompts.length - 1]) {
      const p = prompts[i] as { prompt: string; answer: string }
      const t = tokenizePrompt(tok, p)
      const [ref] = scoreTargets(model, [{ prompt: t.promptIds, target: t.answerIds }])
      expect(answers[i].correct, `prompt ${i}`).toBe(ref.greedyExact)
      expect(answers[i].log_prob as number).toBeCloseTo(ref.logProb, 3)
      expect(answers[i].pre_answer).toBe(t.promptIds.length - 1)
    }
  })

  it("scores by generation: greedy tokens continue the prompt as teacher forcing says, and an answer must be followed by a stop", async () => {
    const prompts = await rows(path.join(artifact("prompts"), "prompts.parquet"))
    const tok = loadTokenizer(MODEL)
    const tokenized = prompts.slice(0, 6).map((p) => tokenizePrompt(tok, p as never))
    const byLen = tokenized.filter((t) => t.promptIds.length === tokenized[0].promptIds.length)
    const stop = stopTokens(model, (t) => tok.encode(t, { addSpecialTokens: false }), "\n\nInput: ")
    expect(stop).toContain(tok.encode("\n\nInput: ", { addSpecialTokens: false })[0])
    const gen = generatedCorrect(model, byLen, stop)
    // take what the model generates as the gold answer: teacher forcing must call all of it correct, and
    // generation must too exactly when the next generated token stops (or nothing follows)
    const own = byLen.map((t, b) => ({ ...t, answerIds: gen.generated[b].slice(0, t.answerIds.length) }))
    const scored = scoreBatch(model, own)
    tf.dispose(Object.values(scored.captured))
    expect(scored.correct.every(Boolean)).toBe(true)
    const again = generatedCorrect(model, own, stop)
    own.forEach((t, b) => {
      const next = gen.generated[b][t.answerIds.length]
      expect(again.correct[b]).toBe(next === undefined || stop.includes(next))
    })
    // a wrong first token is never correct
    const wrong = own.map((t) => ({ ...t, answerIds: [(t.answerIds[0] + 1) % 50, ...t.answerIds.slice(1)] }))
    expect(generatedCorrect(model, wrong, stop).correct.some(Boolean)).toBe(false)
  })

  it("stores the residual at the token before the answer, as a forward pass of the prompt alone gives it", async () => {
    const prompts = await rows(path.join(artifact("prompts"), "prompts.parquet"))
    const reader = await ActivationReader.open(artifact("lm-run"))
    expect(reader.layers()).toEqual([-1, 0, 1])
    const slice = await reader.read({ checkpoint: 0, layer: 1 })
    const tok = loadTokenizer(MODEL)
    for (const r of [0, 33, slice.n - 1]) {
      const p = prompts[slice.seqIds[r]] as { prompt: string; answer: string }
      const ids = tokenizePrompt(tok, p).promptIds
      const { captured } = model.forward({ ids: [ids] }, { capture: { hooks: ["blocks.1.hook_resid_post"], positions: [ids.length - 1] }, logits: "none" })
      const want = captured["blocks.1.hook_resid_post"].dataSync() as Float32Array
      tf.dispose(Object.values(captured))
      const got = slice.vectors.subarray(r * slice.dModel, (r + 1) * slice.dModel)
      for (let j = 0; j < slice.dModel; j++) expect(got[j]).toBeCloseTo(want[j], 4)
    }
  })

  it("computes TD as a brute-force leave-one-out k-NN does, and picks the peak on the selection half", async () => {
    const prompts = await rows(path.join(artifact("prompts"), "prompts.parquet"))
    const td = await rows(path.join(artifact("lm-td"), "td.parquet"))
    const reader = await ActivationReader.open(artifact("lm-run"))
    for (const layer of [0, 1]) {
      const s = await reader.read({ checkpoint: 0, layer })
      const idx = Array.from({ length: s.n }, (_, r) => r).filter((r) => prompts[s.seqIds[r]].shots === 2 && !prompts[s.seqIds[r]].instructed)
      const X = new Float32Array(idx.length * s.dModel)
      idx.forEach((r, j) => X.set(s.vectors.subarray(r * s.dModel, (r + 1) * s.dModel), j * s.dModel))
      const perClass = looKnnPerClass(X, Int32Array.from(idx.map((r) => s.concepts[r])), s.dModel, 7, K)
      const row = td.find((t) => t.condition === "icl" && t.shots === 2 && t.layer === layer)!
      expect(Array.from(row.per_concept as ArrayLike<number>)).toEqual(perClass)
      expect(row.td).toBeCloseTo(perClass.slice(0, 6).reduce((a, b) => a + b, 0) / 6, 12)
    }
    const summary = JSON.parse(fs.readFileSync(path.join(artifact("lm-td"), "summary.json"), "utf8"))
    const sel = (l: number) => td.filter((t) => t.condition === "icl" && t.layer === l).reduce((a, t) => a + (t.td_selection as number), 0)
    expect(sel(summary.peakLayer)).toBe(Math.max(sel(0), sel(1)))
    expect(summary.pairwise["icl:2"]).toHaveLength(7)
    // the UMAP: one point per prompt of every condition and shot count, at the peak layer, with its label
    const emb = await rows(path.join(artifact("lm-td"), "embeddings.parquet"))
    const peak = await reader.read({ checkpoint: 0, layer: summary.peakLayer })
    for (const [condition, shots] of [["icl", 1], ["icl", 2], ["instructed", 2]] as const) {
      const mine = emb.filter((e) => e.condition === condition && e.shots === shots)
      const want = Array.from({ length: peak.n }, (_, r) => r).filter((r) => prompts[peak.seqIds[r]].shots === shots && prompts[peak.seqIds[r]].instructed === (condition === "instructed"))
      expect(mine).toHaveLength(want.length)
      expect(mine.every((e) => e.layer === summary.peakLayer && Number.isFinite(e.x) && Number.isFinite(e.y))).toBe(true)
      expect(mine.map((e) => e.label).sort()).toEqual(want.map((r) => peak.concepts[r]).sort())
    }
  })

  it("intervenes at the token before the answer of exactly the rows it names (the task-vector mechanics)", async () => {
    const prompts = await rows(path.join(artifact("prompts"), "prompts.parquet"))
    const reader = await ActivationReader.open(artifact("lm-run"))
    const slice = await reader.read({ checkpoint: 0, layer: 0 })
    const tok = loadTokenizer(MODEL)
    // four 1-shot prompts of one token length
    const byLen = new Map<number, number[]>()
    for (let r = 0; r < slice.n; r++) {
      const p = prompts[slice.seqIds[r]]
      if (p.shots !== 1 || p.instructed) continue
      const n = tokenizePrompt(tok, p as never).promptIds.length
      byLen.set(n, [...(byLen.get(n) ?? []), r])
    }
    const group = [...byLen.values()].find((g) => g.length >= 4)!.slice(0, 4)
    const tokenized = group.map((r) => tokenizePrompt(tok, prompts[slice.seqIds[r]] as never))
    const P = tokenized[0].promptIds.length
    const own = (r: number) => Array.from(slice.vectors.subarray(r * slice.dModel, (r + 1) * slice.dModel))
    const base = scoreBatch(model, tokenized)
    // replacing each row's residual with its own stored value changes nothing
    const same = scoreBatch(model, tokenized, { interventions: group.map((r, b) => ({ hook: "blocks.0.hook_resid_post", positions: [P - 1], op: "replace" as const, vector: own(r), batch: [b] })) })
    same.logProb.forEach((lp, b) => expect(lp).toBeCloseTo(base.logProb[b], 4))
    // a different vector on row 1 only moves row 1
    const moved = scoreBatch(model, tokenized, { interventions: [{ hook: "blocks.0.hook_resid_post", positions: [P - 1], op: "add", vector: own(group[0]).map((v) => 5 * v), batch: [1] }] })
    expect(Math.abs(moved.logProb[1] - base.logProb[1])).toBeGreaterThan(1e-3)
    for (const b of [0, 2, 3]) expect(moved.logProb[b]).toBeCloseTo(base.logProb[b], 5)
    tf.dispose([...Object.values(base.captured), ...Object.values(same.captured), ...Object.values(moved.captured)])
  })

  it("states every claim of the study as held or not, under llm.<family>, with its numbers", () => {
    const s = JSON.parse(fs.readFileSync(path.join(out, "llm-tiny/summary.json"), "utf8"))
    const fam = s.llm.bitwise
    for (const key of ["peakLayer", "td", "accuracy", "tdAccuracyR2", "taskVectors", "prompting"]) expect(fam, key).toHaveProperty(key)
    expect(Object.keys(fam.td).sort()).toEqual(["1", "2"])
    expect(fam.taskVectors.perConcept).toHaveLength(2 * 2 * 6) // modes x signs x concepts
    expect(s.llm.findings.map((f: { id: string }) => f.id)).toEqual([
      "bitwise.accuracy-differs", "bitwise.accuracy-rises", "bitwise.peak-inner", "bitwise.td-rises", "bitwise.td-predicts-accuracy", "bitwise.task-vectors", "bitwise.prompting"
    ])
    // a random model answers nothing: no claim about accuracy can hold, and R^2 of a constant is undefined
    expect(s.llm.findings.find((f: { id: string }) => f.id === "bitwise.accuracy-rises").held).toBe(false)
    expect(fam.tdAccuracyR2).toBe("NaN")
    expect(s.llm.findings.find((f: { id: string }) => f.id === "bitwise.td-predicts-accuracy").held).toBeNull()
    const md = fs.readFileSync(path.join(out, "llm-tiny/bitwise/seed-1/report.md"), "utf8")
    expect(md).toMatch(/## Findings/)
    // the study's Llama-3.1-8B numbers beside the run's
    expect(md).toMatch(/## Beside the study/)
    expect(md).toContain("Llama-3.1-8B (study)")
    expect(md).toMatch(/\| XNOR \|.*\| 0\.22, 0\.04 \| 0\.32, 0\.02 \| 0\.35, 0\.01 \|/)
    expect(md).toContain("| peak layer | ")
    for (const fig of ["td-by-layer", "td-accuracy", "umap", "pairwise-td", "task-vectors"]) {
      expect(md).toContain(`figures/${fig}.png`)
      expect(fs.readFileSync(path.join(out, `llm-tiny/bitwise/seed-1/figures/${fig}.svg`), "utf8")).toMatch(/^<svg/)
    }
  })

  it("intervenes at the layer taskVectors.layer names, and refuses one the model does not have in one line", () => {
    const peak = JSON.parse(fs.readFileSync(path.join(out, "llm-tiny/summary.json"), "utf8")).llm.bitwise.peakLayer as number
    const other = 1 - peak // the fixture has layers 0 and 1
    const base = { experiment: "llm", name: "llm-tiny", description: "test", seeds: [1], model: { dir: MODEL }, families: ["bitwise"], shots: [1, 2], perConcept: 8, promptingShots: 2, td: { k: K }, batchSize: 5 }
    const run = spawnSync(process.execPath, [CLI, "sweep", "--config", writeConfig(work, { ...base, taskVectors: { shots: 1, layer: other } }), "--store", store, "--out", out], { encoding: "utf8" })
    expect(run.status, run.stderr).toBe(0)
    const log = run.stdout + run.stderr
    // only the interventions and the report are recomputed
    expect(log).toMatch(/\[lm-run\] cache hit/)
    expect(log).toMatch(/\[task-vectors\] computed/)
    const fam = JSON.parse(fs.readFileSync(path.join(out, "llm-tiny/summary.json"), "utf8")).llm.bitwise
    expect(fam.peakLayer).toBe(peak)
    expect(fam.taskVectors.layer).toBe(other)
    expect(fam.findings.find((f: { id: string }) => f.id === "bitwise.task-vectors").numbers).toMatch(new RegExp(`^layer ${other}: `))
    const before = fs.readdirSync(path.join(store, "task-vectors")).sort()
    const bad = spawnSync(process.execPath, [CLI, "sweep", "--config", writeConfig(work, { ...base, taskVectors: { shots: 1, layer: 7 } }), "--store", store, "--out", out], { encoding: "utf8" })
    expect(bad.status).not.toBe(0)
    expect(bad.stderr).toMatch(/taskVectors\.layer 7 is not a layer of the model \(layers 0\.\.1\)/)
    expect(fs.readdirSync(path.join(store, "task-vectors")).sort()).toEqual(before)
  }, 300_000)
})

describe("LLM presets for real checkpoints", () => {
  it("validate once model.dir names a checkpoint, and name the field until then", async () => {
    for (const name of ["llm/llama-3.1-8b", "llm/gemma-2-9b", "llm/olmo-7b"]) {
      const bad = await Effect.runPromise(Effect.either(loadConfig(name)))
      expect(bad._tag).toBe("Left")
      expect(String((bad as { left: Error }).left.message)).toMatch(new RegExp(`configs/${name}\\.json: model\\.dir: .* has no config\\.json`))
      const ok = await Effect.runPromise(loadConfig(name, [`model.dir=${JSON.stringify(MODEL)}`]))
      expect(ok.experiment.name).toBe("llm")
      expect((ok.config as { shots: number[] }).shots).toEqual([1, 4, 10])
    }
  })
})


describe("Table 1 (LoRA on the first vs the last layers) on a tiny Llama checkpoint", () => {
  const work = tmp("cs-llm-t1-")
  const store = path.join(work, "store")
  const out = path.join(work, "out")
  const finetune = { k: 1, r: 2, alpha: 4, steps: 6, batchSize: 3, warmupSteps: 1, minShots: 1, maxShots: 2 }
  beforeAll(() => {
    const cfg = { experiment: "llm", name: "llm-t1", description: "test", seeds: [1], model: { dir: MODEL }, families: ["bitwise"], shots: [1, 2], perConcept: 8, promptingShots: 2, taskVectors: { shots: 1, replicates: 1 }, td: { k: K }, batchSize: 5, finetune, heads: {} }
    execFileSync(process.execPath, [CLI, "sweep", "--config", writeConfig(work, cfg), "--store", store, "--out", out], { stdio: "pipe" })
  }, 300_000)
  const artifact = (kind: string) => path.join(store, kind, fs.readdirSync(path.join(store, kind)).find((k) => !k.startsWith("."))!)

  it("writes one PEFT adapter per variant that changes the model, on its layers only", async () => {
    await initBackend("auto")
    const ids = [[1, 20, 30, 40, 50, 60]]
    const base = CausalLM.load(MODEL)
    const z0 = base.forward({ ids }, { capture: { hooks: ["blocks.0.hook_resid_post"], positions: "all" } })
    for (const [variant, layers] of [["firstK", [0]], ["lastK", [1]]] as const) {
      const dir = path.join(artifact("lm-finetune"), "adapters", variant)
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, "adapter_config.json"), "utf8"))
      expect(cfg).toMatchObject({ peft_type: "LORA", r: 2, lora_alpha: 4, layers_to_transform: layers })
      const lm = CausalLM.load(MODEL, { adapter: { dir } })
      const z = lm.forward({ ids }, { capture: { hooks: ["blocks.0.hook_resid_post"], positions: "all" } })
      const diff = (a: tf.Tensor, b: tf.Tensor) => Math.max(...Array.from(tf.tidy(() => tf.abs(tf.sub(a, b)).dataSync())))
      expect(diff(z.logits!, z0.logits!), variant).toBeGreaterThan(0)
      // the last layer's adapter leaves layer 0's output exactly as it was
      if (variant === "lastK") expect(diff(z.captured["blocks.0.hook_resid_post"], z0.captured["blocks.0.hook_resid_post"])).toBe(0)
      tf.dispose([z.logits!, ...Object.values(z.captured)])
      lm.dispose()
    }
    tf.dispose([z0.logits!, ...Object.values(z0.captured)])
    base.dispose()
  })

  it("states Table 1 under llm.<family>.table1, the pretrained row matching lm-run and lm-td, and checks the layers before the last-k range", async () => {
    const s = JSON.parse(fs.readFileSync(path.join(out, "llm-t1/summary.json"), "utf8"))
    const t1 = s.llm.bitwise.table1
    expect(Object.keys(t1.rows)).toEqual(["pretrained", "firstK", "lastK", "prompting"])
    for (const row of Object.values(t1.rows)) for (const k of ["tdMean", "tdSpread", "accuracyMean"]) expect(row).toHaveProperty(k)
    expect(t1.rows.firstK.layers).toEqual([0])
    expect(t1.rows.lastK.layers).toEqual([1])
    // the pretrained row: the same prompts lm-run scored and lm-td decoded
    const prompts = await rows(path.join(artifact("prompts"), "prompts.parquet"))
    const answers = await rows(path.join(artifact("lm-run"), "answers.parquet"))
    const concepts = (p: Record<string, unknown>) => p.shots === 2 && !p.instructed && p.label !== "Null"
    const acc = [0, 1, 2, 3, 4, 5].map((c) => {
      const mine = prompts.filter((p) => concepts(p) && p.label_index === c)
      return mine.filter((p) => answers[p.row as number].correct).length / mine.length
    })
    expect(t1.rows.pretrained.accuracyMean).toBeCloseTo(acc.reduce((a, x) => a + x, 0) / 6, 10)
    const td = await rows(path.join(artifact("lm-td"), "td.parquet"))
    const at = td.find((r) => r.condition === "icl" && r.shots === 2 && r.layer === t1.layer)!
    expect(t1.rows.pretrained.tdMean).toBeCloseTo(Array.from(at.per_concept_heldout as number[]).slice(0, 6).reduce((a, x) => a + x, 0) / 6, 10)
    const check = t1.unchangedBelow.find((u: { variant: string }) => u.variant === "lastK")
    expect(check).toEqual({ variant: "lastK", firstTrainedLayer: 1, maxAbsDiff: 0, tdMaxDiff: 0 })
    const f = s.llm.findings.find((x: { id: string }) => x.id === "bitwise.lora-last-keeps-early-td")
    expect(f.held).toBe(true)
    expect(s.llm.findings.map((x: { id: string }) => x.id)).toContain("bitwise.lora-first-beats-last")
    const md = fs.readFileSync(path.join(out, "llm-t1/bitwise/seed-1/report.md"), "utf8")
    expect(md).toMatch(/## Table 1: LoRA on the first vs the last layers \(2 shots\)/)
    expect(md).toContain("figures/table1.png")
  })

  it("ablates each head as a forward pass of each prompt alone with that head zeroed or set to its mean says", async () => {
    const prompts = (await rows(path.join(artifact("prompts"), "prompts.parquet"))).filter((p) => p.shots === 1 && !p.instructed && p.label !== "Null")
    const heads = await rows(path.join(artifact("lm-heads"), "heads.parquet"))
    const model = CausalLM.load(MODEL)
    const tok = loadTokenizer(MODEL)
    const tokd = prompts.map((p) => tokenizePrompt(tok, p as never))
    // the mean of head 1's output in layer 1 over every prompt token, by hand
    const hook = "blocks.1.attn.hook_z"
    let sum: number[] | null = null
    let n = 0
    for (const t of tokd) {
      const z = model.forward({ ids: [t.promptIds] }, { capture: { hooks: [hook], positions: "all" } }).captured[hook] // [1, P, H, dh]
      const a = z.arraySync() as number[][][][]
      for (const row of a[0]) {
        sum = sum ? sum.map((v, j) => v + row[1][j]) : [...row[1]]
        n++
      }
      z.dispose()
    }
    const meanZ = sum!.map((v) => v / n)
    for (const [ablation, iv] of [
      ["zero", { hook: "blocks.1.hook_attn_out", positions: "all" as const, op: "zero" as const, head: 1 }],
      ["mean", { hook: "blocks.1.hook_attn_out", positions: "all" as const, op: "replace" as const, vector: meanZ, head: 1 }]
    ] as const) {
      for (const label of ["AND", "XOR"]) {
        const mine = prompts.map((p, i) => [p, i] as const).filter(([p]) => p.label === label)
        const losses = mine.map(([, i]) => {
          const s = scoreBatch(model, [tokd[i]], { interventions: [iv] })
          return -s.logProb[0]
        })
        const row = heads.find((h) => h.layer === 1 && h.head === 1 && h.ablation === ablation && h.label === label)!
        expect(row.loss as number, `${ablation} ${label}`).toBeCloseTo(losses.reduce((a, x) => a + x, 0) / losses.length, 4)
      }
    }
    model.dispose()
    const s = JSON.parse(fs.readFileSync(path.join(out, "llm-t1/summary.json"), "utf8"))
    expect(s.heads.llm.bitwise.modes.map((m: { ablation: string }) => m.ablation)).toEqual(["zero", "mean"])
    expect(s.llm.findings.map((x: { id: string }) => x.id)).toContain("bitwise.heads-concept-specific")
    expect(fs.existsSync(path.join(out, "llm-t1/bitwise/seed-1/figures/heads-zero.png"))).toBe(true)
  })
})