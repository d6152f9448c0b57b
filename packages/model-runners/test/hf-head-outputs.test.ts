import * as tf from "@tensorflow/tfjs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { CausalLM, HfCheckpoint, initBackend } from "../src/index.js"

/** Each head's output before W_O (attn.hook_z) on a tiny Llama checkpoint, against W_O and per-head interventions. */
const here = path.dirname(fileURLToPath(import.meta.url))
const fixture = (n: string) => path.join(here, "fixtures/hf", n)

beforeAll(async () => {
  process.env.CONCEPTSCOPE_QUIET = "1"
  await initBackend()
})

describe("attention head outputs on a causal LM", () => {
  it("attn.hook_z holds each head's output before W_O: o_proj of it is hook_attn_out, and replacing a head changes exactly its slice", () => {
    const llama = fixture("llama2-gqa3")
    const model = CausalLM.load(llama)
    const x = [[1, 5, 9, 13, 17, 21], [2, 6, 10, 14, 18, 22]]
    const hooks = ["blocks.1.attn.hook_z", "blocks.1.hook_attn_out"]
    const { captured } = model.forward({ ids: x }, { capture: { hooks, positions: "all" } })
    const z = captured["blocks.1.attn.hook_z"] // [B, T, H, dh]
    const [B, T, H, dh] = z.shape
    expect([B, T, H]).toEqual([2, 6, model.arch.dims.nHeads])
    const Wo = tf.tensor(HfCheckpoint.open(llama).read("model.layers.1.self_attn.o_proj.weight", [model.arch.dims.dModel, H * dh]), [model.arch.dims.dModel, H * dh])
    const out = tf.tidy(() => tf.matMul(tf.reshape(z, [B * T, H * dh]), Wo, false, true).dataSync())
    const ref = captured["blocks.1.hook_attn_out"].dataSync()
    for (let i = 0; i < ref.length; i++) expect(out[i]).toBeCloseTo(ref[i], 5)
    // replacing head 2's output by a vector: hook_z shows the vector there and is unchanged elsewhere
    const v = Array.from({ length: dh }, (_, i) => 0.1 * (i + 1))
    const r = model.forward({ ids: x }, { capture: { hooks: ["blocks.1.attn.hook_z"], positions: "all" }, interventions: [{ hook: "blocks.1.hook_attn_out", positions: "all", op: "replace", vector: v, head: 2 }] })
    const z2 = r.captured["blocks.1.attn.hook_z"].arraySync() as number[][][][]
    const z1 = z.arraySync() as number[][][][]
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let h = 0; h < H; h++) for (let j = 0; j < dh; j++) expect(z2[b][t][h][j]).toBeCloseTo(h === 2 ? v[j] : z1[b][t][h][j], 6)
    expect(() => model.forward({ ids: x }, { interventions: [{ hook: "blocks.1.attn.hook_z" as never, positions: "all", op: "zero" }] })).toThrow(/capture only/)
    tf.dispose([Wo, ...Object.values(captured), ...Object.values(r.captured), r.logits!])
    model.dispose()
  })
})
