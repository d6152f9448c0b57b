import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Rng } from "@conceptscope/core"
import {
  CheckpointError,
  ForwardError,
  ModelConfigError,
  RegressionTransformer,
  initBackend,
  parameterSpecs
} from "../src/index.js"
import { loadSafetensors, saveSafetensors, type TensorData } from "@conceptscope/safetensors"
import { referenceForward } from "./reference-forward.js"

const tiny = { nLayers: 2, dModel: 8, nHeads: 2, xDim: 3, maxExamples: 4, tokenFormat: "y-scalar" as const, seed: 7 }

function inputs(B: number, K: number, D: number, seed: number) {
  const rng = new Rng(seed)
  return { xs: rng.normals(B * K * D), ys: rng.normals(B * K) }
}

function run(m: RegressionTransformer, xs: Float32Array, ys: Float32Array, B: number, K: number, opts = {}) {
  return tf.tidy(() => {
    const r = m.forward(tf.tensor3d(xs, [B, K, m.config.xDim]), tf.tensor2d(ys, [B, K]), opts)
    return r.preds
  })
}

/** Replace every weight with N(0, std) so activations are far from the near-zero init. */
function randomiseWeights(m: RegressionTransformer, seed: number, std = 0.3): Map<string, TensorData> {
  const rng = new Rng(seed)
  const w = new Map<string, TensorData>()
  for (const s of parameterSpecs(m.config)) {
    const n = s.shape.reduce((a, b) => a * b, 1)
    w.set(s.name, { shape: s.shape, data: s.std === -1 ? rng.normals(n, 0.2).map((v) => 1 + v) : rng.normals(n, std) })
  }
  m.setWeights(w)
  return w
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let mx = 0
  for (let i = 0; i < a.length; i++) mx = Math.max(mx, Math.abs(a[i] - b[i]))
  return mx
}

beforeAll(async () => {
  process.env.CONCEPTSCOPE_QUIET = "1"
  await initBackend("wasm")
})

describe("RegressionTransformer", () => {
  it("has the documented parameter count and output shapes", () => {
    const m = RegressionTransformer.create(tiny)
    const d = 8, D = 3, L = 2, dm = 32
    const perBlock = 2 * d + 4 * (d * d + d) + 2 * d + (d * dm + dm) + (dm * d + d)
    expect(m.numParameters()).toBe((D + 1) * d + d + 2 * 4 * d + L * perBlock + 2 * d + d + 1)
    const { xs, ys } = inputs(5, 3, D, 1)
    const r = m.forward(tf.tensor3d(xs, [5, 3, D]), tf.tensor2d(ys, [5, 3]), {
      capture: { hooks: ["hook_embed", "blocks.1.hook_resid_post", "blocks.0.attn.hook_pattern", "ln_final"] }
    })
    expect(r.preds.shape).toEqual([5, 3])
    expect(r.captured.get("hook_embed")?.shape).toEqual([5, 6, 8])
    expect(r.captured.get("blocks.1.hook_resid_post")?.shape).toEqual([5, 6, 8])
    expect(r.captured.get("blocks.0.attn.hook_pattern")?.shape).toEqual([5, 2, 6, 6])
    // attention rows sum to 1 and are causal
    const pat = r.captured.get("blocks.0.attn.hook_pattern")!.arraySync() as number[][][][]
    for (const row of pat[0][1]) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
    expect(pat[2][0][1][4]).toBe(0)
    tf.dispose([r.preds, ...r.captured.values()])
    m.dispose()
  })

  it("yChannel puts y in that input channel of the read-in: embed = x W_E[0..D) or y W_E[c] + b_E + pos", () => {
    const D = 3, B = 2, K = 3, d = 8
    for (const yChannel of [0, 2, 3]) {
      const m = RegressionTransformer.create({ ...tiny, yChannel })
      const w = randomiseWeights(m, 11)
      const { xs, ys } = inputs(B, K, D, 5)
      const r = m.forward(tf.tensor3d(xs, [B, K, D]), tf.tensor2d(ys, [B, K]), { capture: { hooks: ["hook_embed"] } })
      const got = r.captured.get("hook_embed")!.dataSync() // [B, 2K, d]
      const WE = w.get("embed.W_E")!.data, bE = w.get("embed.b_E")!.data, pos = w.get("pos_embed.W_pos")!.data
      let worst = 0
      for (let b = 0; b < B; b++)
        for (let t = 0; t < 2 * K; t++)
          for (let j = 0; j < d; j++) {
            const k = t >> 1
            let e = bE[j] + pos[t * d + j]
            if (t % 2 === 0) for (let i = 0; i < D; i++) e += xs[(b * K + k) * D + i] * WE[i * d + j]
            else e += ys[b * K + k] * WE[yChannel * d + j]
            worst = Math.max(worst, Math.abs(e - got[(b * 2 * K + t) * d + j]))
          }
      expect(worst).toBeLessThan(1e-5)
      tf.dispose([r.preds, ...r.captured.values()])
      m.dispose()
    }
    expect(() => RegressionTransformer.create({ ...tiny, yChannel: 4 })).toThrow(/yChannel 4 needs tokenFormat "y-scalar" and at most xDim \(3\)/)
  })

  it("same seed gives the same weights; different seed differs", () => {
    const a = RegressionTransformer.create(tiny)
    const b = RegressionTransformer.create(tiny)
    const c = RegressionTransformer.create({ ...tiny, seed: 8 })
    const wa = a.weights().get("blocks.1.attn.W_Q")!.data
    expect(maxAbsDiff(wa, b.weights().get("blocks.1.attn.W_Q")!.data)).toBe(0)
    expect(maxAbsDiff(wa, c.weights().get("blocks.1.attn.W_Q")!.data)).toBeGreaterThan(0)
    // init scales: weight std ~0.02, residual projections ~0.02/sqrt(2L)
    const std = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length)
    expect(std(a.weights().get("blocks.0.mlp.W_in")!.data)).toBeCloseTo(0.02, 2)
    expect(std(a.weights().get("blocks.0.mlp.W_out")!.data)).toBeCloseTo(0.01, 2)
    ;[a, b, c].forEach((m) => m.dispose())
  })

  for (const tokenFormat of ["y-scalar", "xy-pair"] as const) {
    it(`matches a plain-JS forward (${tokenFormat})`, () => {
      const cfg = { ...tiny, tokenFormat }
      const m = RegressionTransformer.create(cfg)
      const w = randomiseWeights(m, 3)
      const B = 3, K = 4
      const { xs, ys } = inputs(B, K, cfg.xDim, 2)
      const ref = referenceForward({ ...cfg, dMlp: 32 }, w, xs, ys, B, K)
      const r = m.forward(tf.tensor3d(xs, [B, K, 3]), tf.tensor2d(ys, [B, K]), {
        capture: { hooks: ["blocks.0.hook_resid_post"], positions: [-1] }
      })
      const preds = r.preds.dataSync()
      expect(maxAbsDiff(preds, ref.preds.flat())).toBeLessThan(1e-5)
      expect(Math.max(...ref.preds.flat().map(Math.abs))).toBeGreaterThan(0.05) // not a trivial comparison
      const cap = r.captured.get("blocks.0.hook_resid_post")!.dataSync() // [B, 1, d]
      const refCap = ref.residPost[0].flatMap((rows) => rows[2 * K - 1])
      expect(maxAbsDiff(cap, refCap)).toBeLessThan(1e-4)
      tf.dispose([r.preds, ...r.captured.values()])
      m.dispose()
    })
  }

  it("is causal: changing a later token leaves earlier predictions unchanged", () => {
    const m = RegressionTransformer.create(tiny)
    randomiseWeights(m, 5)
    const B = 2, K = 4
    const { xs, ys } = inputs(B, K, 3, 4)
    const p0 = run(m, xs, ys, B, K).arraySync() as number[][]
    const xs2 = xs.slice()
    xs2[(0 * K + 2) * 3 + 1] += 5 // x_3 of row 0
    const ys2 = ys.slice()
    ys2[1 * K + 1] -= 4 // y_2 of row 1
    const p1 = run(m, xs2, ys2, B, K).arraySync() as number[][]
    expect(maxAbsDiff(p0[0].slice(0, 2), p1[0].slice(0, 2))).toBeLessThan(1e-6)
    expect(Math.abs(p0[0][2] - p1[0][2])).toBeGreaterThan(1e-4)
    expect(maxAbsDiff(p0[1].slice(0, 2), p1[1].slice(0, 2))).toBeLessThan(1e-6) // y_2 is seen from x_3 on
    expect(Math.abs(p0[1][2] - p1[1][2])).toBeGreaterThan(1e-4)
    m.dispose()
  })

  it("accepts fewer examples than maxExamples (prefix of the full forward)", () => {
    const m = RegressionTransformer.create(tiny)
    randomiseWeights(m, 6)
    const { xs, ys } = inputs(2, 4, 3, 9)
    const full = run(m, xs, ys, 2, 4).arraySync() as number[][]
    const xs2 = new Float32Array([...xs.subarray(0, 6), ...xs.subarray(12, 18)])
    const ys2 = new Float32Array([ys[0], ys[1], ys[4], ys[5]])
    const short = run(m, xs2, ys2, 2, 2).arraySync() as number[][]
    expect(maxAbsDiff(short.flat(), [full[0][0], full[0][1], full[1][0], full[1][1]])).toBeLessThan(1e-5)
    m.dispose()
  })

  describe("interventions", () => {
    const B = 3, K = 4, T = 8
    let m: RegressionTransformer
    let xs: Float32Array, ys: Float32Array, base: Float32Array
    beforeAll(() => {
      m = RegressionTransformer.create(tiny)
      randomiseWeights(m, 11)
      ;({ xs, ys } = inputs(B, K, 3, 12))
      base = run(m, xs, ys, B, K).dataSync() as Float32Array
    })

    it("replace with the captured value is a no-op", () => {
      const hook = "blocks.0.hook_resid_mid" as const
      const r = m.forward(tf.tensor3d(xs, [B, K, 3]), tf.tensor2d(ys, [B, K]), { capture: { hooks: [hook], positions: [4, -1] } })
      const cap = r.captured.get(hook)!.arraySync() as number[][][] // [B, 2, d]
      const ivs = [0, 1, 2].flatMap((b) => [
        { hook, positions: [4], op: "replace" as const, vector: cap[b][0], batch: [b] },
        { hook, positions: [-1], op: "replace" as const, vector: cap[b][1], batch: [b] }
      ])
      const p = run(m, xs, ys, B, K, { interventions: ivs }).dataSync()
      expect(maxAbsDiff(p, base)).toBeLessThan(1e-5)
      tf.dispose([r.preds, ...r.captured.values()])
    })

    it("adding a zero vector is a no-op; adding a non-zero vector changes only later positions", () => {
      // (a constant vector would be invisible: LayerNorm removes the mean)
      const z = { hook: "blocks.1.hook_resid_pre" as const, positions: "all" as const, op: "add" as const, vector: new Array(8).fill(0) }
      expect(maxAbsDiff(run(m, xs, ys, B, K, { interventions: [z] }).dataSync(), base)).toBe(0)
      const add = { hook: "blocks.1.hook_resid_pre" as const, positions: [4], op: "add" as const, vector: Array.from({ length: 8 }, (_, i) => Math.cos(3 * i)) }
      const p = run(m, xs, ys, B, K, { interventions: [add] }).arraySync() as number[][]
      const b0 = Array.from(base)
      for (let b = 0; b < B; b++) {
        expect(maxAbsDiff(p[b].slice(0, 2), b0.slice(b * K, b * K + 2))).toBeLessThan(1e-6) // x_1, x_2 are before pos 4
        expect(Math.abs(p[b][2] - b0[b * K + 2])).toBeGreaterThan(1e-4) // x_3 sits at pos 4
      }
    })

    it("replace at every position makes predictions independent of the input", () => {
      const v = Array.from({ length: 8 }, (_, i) => Math.sin(i + 1))
      const iv = { hook: "blocks.1.hook_resid_post" as const, positions: "all" as const, op: "replace" as const, vector: v }
      const p1 = run(m, xs, ys, B, K, { interventions: [iv] }).arraySync() as number[][]
      const other = inputs(B, K, 3, 99)
      const p2 = run(m, other.xs, other.ys, B, K, { interventions: [iv] }).arraySync() as number[][]
      expect(maxAbsDiff(p1.flat(), p2.flat())).toBeLessThan(1e-6)
      expect(maxAbsDiff(p1.flat(), Array(B * K).fill(p1[0][0]))).toBeLessThan(1e-6) // same everywhere
      expect(maxAbsDiff(p1.flat(), base)).toBeGreaterThan(1e-3)
    })

    it("zero op equals replace with a zero vector, restricted to the chosen batch rows", () => {
      const hook = "blocks.0.hook_mlp_out" as const
      const zero = run(m, xs, ys, B, K, { interventions: [{ hook, positions: [0, 2, -2], op: "zero", batch: [1] }] }).arraySync() as number[][]
      const rep = run(m, xs, ys, B, K, {
        interventions: [{ hook, positions: [0, 2, 6], op: "replace", vector: new Array(8).fill(0), batch: [1] }]
      }).arraySync() as number[][]
      expect(maxAbsDiff(zero.flat(), rep.flat())).toBe(0)
      expect(maxAbsDiff(zero[0], Array.from(base.subarray(0, K)))).toBe(0) // row 0 untouched
      expect(maxAbsDiff(zero[1], Array.from(base.subarray(K, 2 * K)))).toBeGreaterThan(1e-5)
      // the captured value shows the zeros
      const r = m.forward(tf.tensor3d(xs, [B, K, 3]), tf.tensor2d(ys, [B, K]), {
        capture: { hooks: [hook], positions: [2] },
        interventions: [{ hook, positions: [2], op: "zero" }]
      })
      expect(maxAbsDiff(r.captured.get(hook)!.dataSync(), new Array(B * 8).fill(0))).toBe(0)
      tf.dispose([r.preds, ...r.captured.values()])
    })

    it("head ablation (zero one head at hook_attn_out) equals zeroing that head's pattern", () => {
      const a = run(m, xs, ys, B, K, { interventions: [{ hook: "blocks.0.hook_attn_out", positions: "all", op: "zero", head: 1 }] }).dataSync()
      const b = run(m, xs, ys, B, K, { interventions: [{ hook: "blocks.0.attn.hook_pattern", positions: "all", op: "zero", head: 1 }] }).dataSync()
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-6)
      expect(maxAbsDiff(a, base)).toBeGreaterThan(1e-5)
    })

    it("rejects bad interventions and captures with tagged errors", () => {
      const bad = (opts: object) => () => run(m, xs, ys, B, K, opts)
      expect(bad({ interventions: [{ hook: "blocks.5.hook_resid_post", positions: [0], op: "zero" }] })).toThrow(ForwardError)
      expect(bad({ interventions: [{ hook: "blocks.0.hook_resid_post", positions: [T], op: "zero" }] })).toThrow(/outside/)
      expect(bad({ interventions: [{ hook: "blocks.0.hook_resid_post", positions: [0], op: "add", vector: [1, 2] }] })).toThrow(/length 8/)
      expect(bad({ capture: { hooks: ["blocks.0.resid"] } })).toThrow(ForwardError)
      expect(() => RegressionTransformer.create({ ...tiny, nHeads: 3 })).toThrow(ModelConfigError)
    })
  })

  it("saves and loads a safetensors checkpoint exactly", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cs-mr-"))
    const m = RegressionTransformer.create({ ...tiny, tokenFormat: "xy-pair" })
    randomiseWeights(m, 21)
    const path = join(dir, "model.safetensors")
    await m.save(path, { step: "42" })
    const m2 = await RegressionTransformer.load(path)
    expect(m2.config).toEqual(m.config)
    const { xs, ys } = inputs(2, 4, 3, 5)
    expect(maxAbsDiff(run(m, xs, ys, 2, 4).dataSync(), run(m2, xs, ys, 2, 4).dataSync())).toBe(0)
    const m3 = RegressionTransformer.create({ ...tiny, dModel: 4 })
    await expect(m3.loadWeights(path)).rejects.toThrow(CheckpointError)
    ;[m, m2, m3].forEach((x) => x.dispose())
  })

  it("load and loadWeights refuse a checkpoint with a non-finite weight, naming the file and the tensor", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cs-mr-"))
    const m = RegressionTransformer.create(tiny)
    const path = join(dir, "model.safetensors")
    await m.save(path)
    const { tensors, metadata } = await loadSafetensors(path)
    const w = tensors.get("blocks.1.mlp.W_out") as TensorData
    const data = Float32Array.from(w.data)
    data[5] = NaN
    data[9] = -Infinity
    tensors.set("blocks.1.mlp.W_out", { shape: w.shape, data })
    await saveSafetensors(path, tensors, metadata)
    const want = `${path} [blocks.1.mlp.W_out]: non-finite value NaN at flat index 5 (2 non-finite of ${data.length})`
    await expect(RegressionTransformer.load(path)).rejects.toThrow(want)
    await expect(m.loadWeights(path)).rejects.toThrow(want)
    await expect(RegressionTransformer.load(path).catch((e: unknown) => (e as Error).message)).resolves.toBe(want) // the whole message
    expect(() => m.setWeights(tensors)).toThrow(/^<memory> \[blocks\.1\.mlp\.W_out\]: non-finite value NaN/)
    m.dispose()
  })

  describe("non-finite predictions", () => {
    const B = 2
    const K = 3
    const { xs, ys } = inputs(B, K, 3, 11)
    const message = (f: () => unknown): string => {
      try {
        f()
      } catch (e) {
        expect(e).toBeInstanceOf(ForwardError)
        return (e as Error).message
      }
      return "no error"
    }

    it("name the first hook where they appear and the checkpoint; allowNonFinite and training return them", async () => {
      const dir = mkdtempSync(join(tmpdir(), "cs-mr-"))
      const path = join(dir, "model.safetensors")
      const m0 = RegressionTransformer.create(tiny)
      await m0.save(path)
      m0.dispose()
      const m = await RegressionTransformer.load(path)
      const bias = m.parameters().get("blocks.1.mlp.b_out") as tf.Variable
      bias.assign(tf.tensor1d(Array.from({ length: 8 }, (_, i) => (i === 2 ? NaN : 0))))
      expect(Array.from(run(m, xs, ys, B, K, { allowNonFinite: true }).dataSync()).every(Number.isNaN)).toBe(true)
      const n0 = tf.memory().numTensors // after the first pass, which caches the causal mask
      expect(message(() => run(m, xs, ys, B, K))).toBe(
        `forward: non-finite values first appear at blocks.1.hook_resid_post (layer 1) of ${path} (allowNonFinite: true returns them)`
      )
      expect(tf.memory().numTensors).toBe(n0)
      expect(Array.from(run(m, xs, ys, B, K, { training: true }).dataSync()).every(Number.isNaN)).toBe(true) // the trainer checks its loss
      m.dispose()
    })

    it("from the input, from an intervention, and in the read-out", () => {
      const m = RegressionTransformer.create(tiny)
      const bad = Float32Array.from(xs)
      bad[4] = NaN
      expect(message(() => run(m, bad, ys, B, K))).toBe(
        "forward: non-finite values first appear at hook_embed (the input xs holds non-finite values) of a regression transformer not loaded from a file (allowNonFinite: true returns them)"
      )
      const vector = Array.from({ length: 8 }, (_, i) => (i === 0 ? Infinity : 0))
      expect(message(() => run(m, xs, ys, B, K, { interventions: [{ hook: "blocks.0.hook_attn_out", positions: [1], op: "add", vector }] }))).toMatch(
        /^forward: non-finite values first appear at blocks\.0\.hook_resid_post \(layer 0\) of /
      )
      ;(m.parameters().get("unembed.W_U") as tf.Variable).assign(tf.fill([8, 1], Infinity))
      expect(message(() => run(m, xs, ys, B, K))).toMatch(/first appear at the predictions \(ln_final or the read-out; hook_embed and every hook_resid_post are finite\)/)
      m.dispose()
    })
  })

  it("does not leak tensors across forward passes", () => {
    const m = RegressionTransformer.create(tiny)
    const { xs, ys } = inputs(2, 4, 3, 5)
    run(m, xs, ys, 2, 4).dispose()
    const n0 = tf.memory().numTensors
    for (let i = 0; i < 3; i++) {
      const r = m.forward(tf.tensor3d(xs, [2, 4, 3]), tf.tensor2d(ys, [2, 4]), {
        capture: { hooks: ["ln_final"] },
        interventions: [{ hook: "hook_embed", positions: [1], op: "zero" }]
      })
      tf.dispose([r.preds, ...r.captured.values()])
    }
    // the two input tensors of each call are the caller's
    expect(tf.memory().numTensors - n0).toBe(3 * 2)
    m.dispose()
  })
})
