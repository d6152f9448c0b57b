import * as tf from "@tensorflow/tfjs"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { CausalLM, generateGreedy, initBackend, scoreTargets } from "../src/index.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const fixture = (n: string) => path.join(here, "fixtures/hf", n)

beforeAll(async () => {
  process.env.CONCEPTSCOPE_QUIET = "1"
  await initBackend()
})

/** Greedy decoding the slow way: a full forward pass over the whole sequence for every new token. */
function greedyNoCache(model: CausalLM, prompt: number[], n: number): number[] {
  const seq = [...prompt]
  for (let i = 0; i < n; i++) {
    const { logits } = model.forward({ ids: [seq] }, { logits: [-1] })
    seq.push(tf.tidy(() => tf.argMax(logits as tf.Tensor, 2).dataSync()[0]))
    ;(logits as tf.Tensor).dispose()
  }
  return seq.slice(prompt.length)
}

describe.each(["llama3-rope-scaling-bf16-sharded", "gemma2-softcap-window4", "gpt2", "olmo-clip-qkv"])("decoding on %s", (name) => {
  const ids = JSON.parse(fs.readFileSync(path.join(fixture(name), "ids.json"), "utf8")) as number[][]

  it("greedy generation with a KV cache equals full re-forwarding, also for a left-padded batch and in streamed mode", () => {
    const model = CausalLM.load(fixture(name))
    const p0 = ids[0].slice(0, 6)
    const p1 = ids[1].slice(0, 3)
    const want0 = greedyNoCache(model, p0, 8) // 6 + 8 tokens: past Gemma's window of 4
    const want1 = greedyNoCache(model, p1, 8)
    expect(generateGreedy(model, [p0, p1], { maxNewTokens: 8, stop: [] })).toEqual([want0, want1])
    const streamed = CausalLM.load(fixture(name), { mode: "streamed" })
    expect(generateGreedy(streamed, [p0], { maxNewTokens: 8, stop: [] })).toEqual([want0])
    streamed.dispose()
    // stop tokens end a row (kept in the output)
    expect(generateGreedy(model, [p0], { maxNewTokens: 8, stop: [want0[2]] })[0]).toEqual(want0.slice(0, want0.indexOf(want0[2]) + 1))
    model.dispose()
  })

  it("teacher-forced scoring: log-probabilities from one pass, greedy-exact only for the greedy continuation", () => {
    const model = CausalLM.load(fixture(name))
    const prompt = ids[0].slice(0, 5)
    const greedy = greedyNoCache(model, prompt, 4)
    const other = [...greedy.slice(0, 3), (greedy[3] + 1) % 50]
    const [a, b, c] = scoreTargets(model, [
      { prompt, target: greedy.slice(0, 3) },
      { prompt, target: other },
      { prompt: ids[1].slice(0, 7), target: [ids[1][7]] }
    ], { stop: [] })
    expect(a.greedyExact).toBe(true)
    expect(b.greedyExact).toBe(false)
    // against log-softmax of separate forward passes
    const { logits } = model.forward({ ids: [[...prompt, ...other]] })
    const lp = tf.tidy(() => tf.logSoftmax(logits as tf.Tensor).arraySync() as number[][][])[0]
    const want = other.reduce((acc, tok, j) => acc + lp[prompt.length + j - 1][tok], 0)
    expect(b.logProb).toBeCloseTo(want, 4)
    expect(c.tokenLogProbs).toHaveLength(1)
    // the stop token joins the greedy check: greedy continuation + its own next token is exact, + another is not
    expect(scoreTargets(model, [{ prompt, target: greedy.slice(0, 3) }], { stop: [greedy[3]] })[0].greedyExact).toBe(true)
    expect(scoreTargets(model, [{ prompt, target: greedy.slice(0, 3) }], { stop: [(greedy[3] + 1) % 50] })[0].greedyExact).toBe(false)
    ;(logits as tf.Tensor).dispose()
    model.dispose()
  })

  it("interventions act in scoring and generation", () => {
    const model = CausalLM.load(fixture(name))
    const prompt = ids[0].slice(0, 5)
    const zero = [{ hook: "blocks.0.hook_resid_post", positions: "all" as const, op: "zero" as const }]
    const base = scoreTargets(model, [{ prompt, target: [ids[0][5]] }])[0]
    const hit = scoreTargets(model, [{ prompt, target: [ids[0][5]] }], { interventions: zero })[0]
    expect(Math.abs(base.logProb - hit.logProb)).toBeGreaterThan(1e-4)
    const g1 = generateGreedy(model, [prompt], { maxNewTokens: 4, stop: [] })[0]
    const g2 = generateGreedy(model, [prompt], { maxNewTokens: 4, stop: [], interventions: zero, stepInterventions: zero })[0]
    const { logits } = model.forward({ ids: [prompt] }, { interventions: zero, logits: [-1] })
    expect(g2[0]).toBe(tf.tidy(() => tf.argMax(logits as tf.Tensor, 2).dataSync()[0]))
    ;(logits as tf.Tensor).dispose()
    expect(g1.length).toBe(4)
    model.dispose()
  })
})

describe("generation defaults", () => {
  it("stops at the EOS ids of generation_config.json (else config.json) unless told otherwise", () => {
    const model = CausalLM.load(fixture("gpt2"))
    const gen = JSON.parse(fs.readFileSync(path.join(fixture("gpt2"), "generation_config.json"), "utf8"))
    expect(model.eosTokenIds()).toEqual([gen.eos_token_id].flat())
    model.dispose()
  })
})
