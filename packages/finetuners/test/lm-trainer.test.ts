import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Rng } from "@conceptscope/core"
import { buildTokenizer, CausalLM, initBackend, llamaConfigJson, TrainableLlama, writeHfDirectory } from "@conceptscope/model-runners"
import { LmTrainer, pretrainLm } from "../src/index.js"
import { countingBatch } from "./counting-batch.js"

const size = { nLayers: 2, dModel: 16, nHeads: 4, nKvHeads: 2, intermediate: 24, maxPositions: 64, ropeTheta: 10000 }
const V = 12
const config = llamaConfigJson(size, V, { bos: 1, eos: 2, pad: 0 })


beforeAll(async () => {
  await initBackend()
})

describe("embedded LM pretraining", () => {
  it("the loss is the mean next-token cross-entropy of the logits over the scored positions", () => {
    const model = TrainableLlama.init(config, 5)
    const batch = countingBatch(1, 3, 6)
    batch.targets[4] = -1 // an unscored position (the loss then runs the head on the scored rows alone)
    const z = tf.tidy(() => model.logits(batch.ids, batch.B, batch.T).dataSync()) // [T*B, V] position-major
    let total = 0
    let n = 0
    for (let b = 0; b < batch.B; b++)
      for (let t = 0; t < batch.T; t++) {
        const y = batch.targets[b * batch.T + t]
        if (y < 0) continue
        const row = Array.from(z.subarray((t * batch.B + b) * V, (t * batch.B + b + 1) * V))
        const max = Math.max(...row)
        total += max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) - row[y]
        n++
      }
    const loss = tf.tidy(() => model.loss(batch.ids, batch.targets, batch.B, batch.T).dataSync()[0])
    expect(loss).toBeCloseTo(total / n, 5)
    model.dispose()
  })

  it.each([
    ["every position scored", false],
    ["a third of the positions unscored (the head runs on the scored rows only)", true]
  ])("gradients match central finite differences of the loss: %s", (_, partial) => {
    const model = TrainableLlama.init(config, 3)
    const batch = countingBatch(0, 3, 7)
    if (partial) batch.targets.forEach((_, j) => j % 3 === 1 && (batch.targets[j] = -1))
    const names = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight", "model.layers.0.mlp.down_proj.weight", "model.layers.1.input_layernorm.weight", "model.norm.weight"]
    const vars = names.map((n) => model.params.get(n)!)
    const { grads, value } = tf.variableGrads(() => model.loss(batch.ids, batch.targets, batch.B, batch.T), vars)
    model.release()
    value.dispose()
    const lossAt = () => tf.tidy(() => model.loss(batch.ids, batch.targets, batch.B, batch.T).dataSync()[0])
    const rng = new Rng(9)
    for (const [i, n] of names.entries()) {
      const v = vars[i]
      const g = grads[v.name].dataSync()
      const base = v.dataSync().slice()
      // the largest-gradient entry and two random ones (the embedding's large entries are rows the batch uses)
      let top = 0
      for (let j = 1; j < g.length; j++) if (Math.abs(g[j]) > Math.abs(g[top])) top = j
      for (const j of [top, rng.int(g.length), rng.int(g.length)]) {
        const eps = 3e-3
        const at = (delta: number) => {
          const w = base.slice()
          w[j] += delta
          v.assign(tf.tensor(w, v.shape))
          return lossAt()
        }
        const fd = (at(eps) - at(-eps)) / (2 * eps)
        v.assign(tf.tensor(base, v.shape))
        expect(Math.abs(fd - g[j]), `${n}[${j}]: autodiff ${g[j]}, finite difference ${fd}`).toBeLessThan(2e-3 + 0.03 * Math.abs(g[j]))
      }
    }
    tf.dispose(grads)
    model.dispose()
  })

  it("learns a counting language, and the saved HF directory loads through CausalLM with the same logits", async () => {
    const model = TrainableLlama.init(config, 1)
    const trainer = new LmTrainer(model, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, 1)
    const losses: number[] = []
    for (let s = 0; s < 80; s++) losses.push(trainer.update(countingBatch(s)))
    expect(losses[0]).toBeGreaterThan(Math.log(V) - 0.3) // near uniform at init
    expect(Math.min(...losses.slice(-5))).toBeLessThan(0.3)

    const dir = mkdtempSync(join(tmpdir(), "cs-lm-"))
    const tok = buildTokenizer(["a b c"], { vocabSize: 0 })
    const cfg = llamaConfigJson(size, tok.vocab.size, { bos: tok.bosId, eos: tok.eosId, pad: tok.padId })
    // a model of the tokenizer's vocabulary, so tokenizer.json and config.json agree
    const sized = TrainableLlama.init(cfg, 2)
    await writeHfDirectory(dir, cfg, sized.weights(), tok)
    const lm = CausalLM.load(dir, { mode: "memory" })
    const ids = [[1, 4, 5, 6, 7], [1, 7, 6, 5, 4]]
    const flat = Int32Array.from(ids.flat())
    const ours = sized.logits(flat, 2, 5) // [T*B, V] position-major
    const theirs = lm.forward({ ids }).logits! // [B, T, V]
    const a = ours.dataSync()
    const b = theirs.dataSync()
    const Vt = tok.vocab.size
    let worst = 0
    for (let bb = 0; bb < 2; bb++) for (let t = 0; t < 5; t++) for (let v = 0; v < Vt; v++) worst = Math.max(worst, Math.abs(a[(t * 2 + bb) * Vt + v] - b[(bb * 5 + t) * Vt + v]))
    expect(worst).toBeLessThan(1e-4)
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).model_type).toBe("llama")
    tf.dispose([ours, theirs])
    lm.dispose()
    sized.dispose()
    model.dispose()
  })

  it("a run resumed from its run directory ends at the same bytes as an uninterrupted one", async () => {
    const common = { config, seed: 4, sampleBatch: (s: number) => countingBatch(s), adam: { lr: 3e-3 }, clipGradNorm: 1, checkpoints: [0, 10], label: "pretrain-test" }
    const whole = await pretrainLm({ ...common, steps: 10, runDir: mkdtempSync(join(tmpdir(), "cs-lm-a-")) })
    const dir = mkdtempSync(join(tmpdir(), "cs-lm-b-"))
    const first = await pretrainLm({ ...common, steps: 6, checkpoints: [0, 6], runDir: dir, stateEvery: 3 })
    first.model.dispose()
    const resumed = await pretrainLm({ ...common, steps: 10, runDir: dir, stateEvery: 3 })
    expect(resumed.resumedFrom).toBe(6)
    const wa = whole.model.weights()
    const wb = resumed.model.weights()
    for (const [n, x] of wa) expect(Buffer.from(wb.get(n)!.buffer).equals(Buffer.from(x.buffer)), n).toBe(true)
    whole.model.dispose()
    resumed.model.dispose()
  })
})
