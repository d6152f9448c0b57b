import { ActivationReader } from "@conceptscope/activation-store"
import { readParquetFile, recordsFromTable } from "@conceptscope/artifacts"
import { CausalLM, initBackend, loadTokenizer, scoreTargets } from "@conceptscope/model-runners"
import { tokenizePrompt } from "@conceptscope/task-generators"
import * as tf from "@tensorflow/tfjs"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
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
    const cfg = { experiment: "llm", name: "llm-tiny", description: "test", seeds: [1], model: { dir: MODEL }, families: ["bitwise"], shots: [1, 2], perConcept: 8, promptingShots: 2, td: { k: K }, batchSize: 5 }
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
    expect(fs.readFileSync(path.join(out, "llm-tiny/bitwise/seed-1/report.md"), "utf8")).toMatch(/## Findings/)
  })
})
