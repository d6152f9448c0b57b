import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Rng } from "@conceptscope/core"
import { loadSafetensors, saveSafetensors } from "@conceptscope/safetensors"
import { buildTokenizer, CausalLM, dropoutMask, initBackend, llamaConfigJson, LORA_TARGETS, TrainableLlama, writeHfDirectory } from "@conceptscope/model-runners"
import { LmTrainer, trainLm, type LmBatch } from "../src/index.js"
import { countingBatch as base } from "./counting-batch.js"

/**
 * LoRA on the embedded Llama: what an adapter may and may not change, its gradients against the merged
 * weights' gradients, and its PEFT files read back by the runner (unmerged, merged, streamed).
 */
const size = { nLayers: 3, dModel: 16, nHeads: 4, nKvHeads: 2, intermediate: 24, maxPositions: 64, ropeTheta: 10000 }
const V = 12
const config = llamaConfigJson(size, V, { bos: 1, eos: 2, pad: 0 })
const spec = { r: 4, alpha: 8, dropout: 0, targets: LORA_TARGETS, layers: [0, 1] }

const countingBatch = (step: number, B = 6, T = 9) => base(step, B, T, 200)

const logitsOf = (m: TrainableLlama, b: LmBatch) => tf.tidy(() => m.logits(b.ids, b.B, b.T).dataSync() as Float32Array)
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]))
  return d
}

/** Random B (and A) so that the adapter does something, through the variables themselves. */
function randomize(m: TrainableLlama, seed: number) {
  const rng = new Rng(seed)
  for (const [n, v] of m.trainable()) v.assign(tf.tensor(rng.fork(n).normals(v.size, 0.2), v.shape))
}

beforeAll(async () => {
  await initBackend()
})

describe("LoRA finetuning", () => {
  it("starts from the base model's outputs exactly (B = 0) and trains only A and B of the chosen layers", () => {
    const model = TrainableLlama.init(config, 1)
    const batch = countingBatch(0)
    const before = logitsOf(model, batch)
    const base = model.weights()
    const adapter = model.attachLora(spec, 7)
    expect(logitsOf(model, batch)).toEqual(before)
    expect([...model.trainable().keys()]).toHaveLength(2 * 7 * 2)
    expect([...model.trainable().keys()][0]).toBe("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")
    const trainer = new LmTrainer(model, { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0 })
    const losses = Array.from({ length: 25 }, (_, s) => trainer.update(countingBatch(s)))
    expect(losses.at(-1)!).toBeLessThan(losses[0])
    // every base weight bit-identical; every adapted module's B moved off zero
    for (const [n, w] of model.weights()) expect(w, n).toEqual(base.get(n))
    for (const m of adapter.modules()) expect(Math.max(...Array.from(adapter.tensors.get(m)!.B.dataSync(), Math.abs)), m).toBeGreaterThan(0)
    expect(adapter.modules().every((m) => /^model\.layers\.[01]\./.test(m))).toBe(true)
    model.dispose()
  })

  it("full finetuning of chosen layers changes those layers' weights and nothing else", () => {
    const model = TrainableLlama.init(config, 2)
    const base = model.weights()
    model.trainOnlyLayers([2])
    const trainer = new LmTrainer(model, { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0 })
    for (let s = 0; s < 5; s++) trainer.update(countingBatch(s))
    for (const [n, w] of model.weights()) {
      if (n.startsWith("model.layers.2.")) expect(maxDiff(w, base.get(n)!), n).toBeGreaterThan(0)
      else expect(w, n).toEqual(base.get(n))
    }
    model.dispose()
  })

  it("gradients of A and B are the merged weight's gradient G through the low-rank product: dA = s B^T G, dB = s G A^T", () => {
    const model = TrainableLlama.init(config, 3)
    const adapter = model.attachLora({ ...spec, layers: [1], targets: ["v_proj", "down_proj"] }, 4)
    randomize(model, 9)
    const batch = countingBatch(3)
    const vars = [...model.trainable().values()]
    const { grads } = tf.variableGrads(() => model.loss(batch.ids, batch.targets, batch.B, batch.T), vars)
    model.release()
    // the same loss on a model whose weights are the merged W + s B A, differentiated by W
    const merged = TrainableLlama.fromWeights(config, model.weights())
    for (const m of adapter.modules()) merged.params.get(`${m}.weight`)!.assign(adapter.merged(m, merged.params.get(`${m}.weight`)!))
    expect(maxDiff(logitsOf(merged, batch), logitsOf(model, batch))).toBeLessThan(1e-5)
    for (const m of adapter.modules()) {
      const W = merged.params.get(`${m}.weight`)!
      const { grads: gw } = tf.variableGrads(() => merged.loss(batch.ids, batch.targets, batch.B, batch.T), [W])
      merged.release()
      const G = gw[W.name]
      const { A, B } = adapter.tensors.get(m)!
      const dA = tf.mul(tf.matMul(B, G, true, false), adapter.scale) // [r, in]
      const dB = tf.mul(tf.matMul(G, A, false, true), adapter.scale) // [out, r]
      const key = (w: string) => vars.find((v) => v === model.trainable().get(`base_model.model.${m}.lora_${w}.weight`))!.name
      expect(maxDiff(grads[key("A")].dataSync(), dA.dataSync())).toBeLessThan(1e-5)
      expect(maxDiff(grads[key("B")].dataSync(), dB.dataSync())).toBeLessThan(1e-5)
      tf.dispose([G, dA, dB])
    }
    tf.dispose(grads)
    merged.dispose()
    model.dispose()
  })

  it("a LoRA run resumed from its run directory ends at the same adapter bytes as an uninterrupted one (dropout on)", async () => {
    const base = TrainableLlama.init(config, 8).weights()
    const run = async (steps: number, runDir: string, checkpoints: number[]) => {
      const model = TrainableLlama.fromWeights(config, base)
      model.attachLora({ ...spec, dropout: 0.3 }, 2)
      const r = await trainLm(model, { steps, sampleBatch: (st) => countingBatch(st), adam: { lr: 5e-3 }, clipGradNorm: 1, checkpoints, runDir, stateEvery: 2, label: "lora-test" })
      const bytes = new Map([...model.trainable()].map(([n, v]) => [n, Buffer.from((v.dataSync() as Float32Array).buffer)]))
      model.dispose()
      return { bytes, resumedFrom: r.resumedFrom }
    }
    const whole = await run(8, mkdtempSync(join(tmpdir(), "cs-lora-a-")), [0, 8])
    const dir = mkdtempSync(join(tmpdir(), "cs-lora-b-"))
    await run(4, dir, [0, 4])
    const resumed = await run(8, dir, [0, 8])
    expect(resumed.resumedFrom).toBe(4)
    for (const [n, b] of whole.bytes) expect(resumed.bytes.get(n)!.equals(b), n).toBe(true)
  })

  it("dropout acts on the adapter's input in training only, with masks drawn from the step (a resumed run repeats them)", () => {
    const model = TrainableLlama.init(config, 4)
    model.attachLora({ ...spec, dropout: 0.5 }, 1)
    randomize(model, 2)
    const b = countingBatch(1)
    const loss = (seed: string | null) => tf.tidy(() => model.loss(b.ids, b.targets, b.B, b.T, seed).dataSync()[0])
    expect(loss("lora-dropout:3")).toBe(loss("lora-dropout:3"))
    expect(loss("lora-dropout:3")).not.toBe(loss("lora-dropout:4"))
    expect(loss("lora-dropout:3")).not.toBe(loss(null))
    model.dispose()
    // the mask drops about p of the values and scales the rest by 1 / (1 - p)
    const mask = dropoutMask(200_000, 0.1, "m")
    const dropped = mask.filter((v) => v === 0).length / mask.length
    expect(Math.abs(dropped - 0.1)).toBeLessThan(0.003)
    expect(mask.every((v) => v === 0 || Math.abs(v - 1 / 0.9) < 1e-6)).toBe(true)
    expect(dropoutMask(1000, 0.1, "m")).toEqual(mask.slice(0, 1000))
    expect(dropoutMask(1000, 0.1, "n")).not.toEqual(mask.slice(0, 1000))
  })

  it("saves a PEFT adapter that the runner applies, unmerged and merged, in memory and streamed, to the trained model's outputs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cs-lora-"))
    const model = TrainableLlama.init(config, 5)
    model.attachLora({ ...spec, layers: [2], rslora: true }, 3)
    randomize(model, 5)
    const tok = buildTokenizer(["a b c d e f g h"], { vocabSize: 0 })
    const base = join(dir, "base")
    await writeHfDirectory(base, { ...config, vocab_size: V }, model.weights(), tok)
    await model.lora!.save(join(dir, "adapter"), "base")
    const peft = JSON.parse(readFileSync(join(dir, "adapter", "adapter_config.json"), "utf8"))
    expect(peft).toMatchObject({ peft_type: "LORA", task_type: "CAUSAL_LM", r: 4, lora_alpha: 8, use_rslora: true, layers_to_transform: [2], bias: "none" })
    const { tensors } = await loadSafetensors(join(dir, "adapter", "adapter_model.safetensors"))
    expect(tensors.get("base_model.model.model.layers.2.mlp.up_proj.lora_A.weight")!.shape).toEqual([4, 16])
    expect(tensors.get("base_model.model.model.layers.2.mlp.up_proj.lora_B.weight")!.shape).toEqual([24, 4])
    const b = countingBatch(5, 2, 6)
    const want = logitsOf(model, b) // [T*B, V] position-major
    const rows = [0, 1].map((r) => Array.from(b.ids.subarray(r * b.T, (r + 1) * b.T)))
    for (const opts of [{ mode: "memory" as const }, { mode: "memory" as const, merge: true }, { mode: "streamed" as const, merge: true }, { mode: "streamed" as const }]) {
      const lm = CausalLM.load(base, { mode: opts.mode, adapter: { dir: join(dir, "adapter"), merge: opts.merge } })
      const got = tf.tidy(() => tf.transpose(lm.forward({ ids: rows }).logits!, [1, 0, 2]).dataSync()) // [T, B, V]
      expect(maxDiff(got, want), JSON.stringify(opts)).toBeLessThan(1e-5)
      lm.dispose()
    }
    // a plain load ignores the adapter
    const plain = CausalLM.load(base)
    const z = tf.tidy(() => tf.transpose(plain.forward({ ids: rows }).logits!, [1, 0, 2]).dataSync())
    expect(maxDiff(z, want)).toBeGreaterThan(1e-3)
    plain.dispose()
    // malformed adapters: one line naming the file and the tensor or field
    const bad = join(dir, "bad")
    await model.lora!.save(bad)
    const t = new Map(tensors)
    const k = "base_model.model.model.layers.2.self_attn.q_proj.lora_B.weight"
    t.set(k, { shape: [8, 4], data: new Float32Array(32) })
    await saveSafetensors(join(bad, "adapter_model.safetensors"), t)
    expect(() => CausalLM.load(base, { adapter: { dir: bad } })).toThrow(/adapter_model\.safetensors \[base_model\.model\.model\.layers\.2\.self_attn\.q_proj\.lora_B\.weight\]: shape \[8, 4\], expected \[16, 4\]/)
    writeFileSync(join(bad, "adapter_config.json"), JSON.stringify({ ...peft, use_dora: true }))
    expect(() => CausalLM.load(base, { adapter: { dir: bad } })).toThrow(/adapter_config\.json \[use_dora\]: DoRA adapters are not implemented/)
    model.dispose()
  })
})
