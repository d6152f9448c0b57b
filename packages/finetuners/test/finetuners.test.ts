import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Rng } from "@conceptscope/core"
import { installWasmKernels, loadNative, nativeMatmulActive } from "@conceptscope/kernels"
import { RegressionTransformer, initBackend } from "@conceptscope/model-runners"
import {
  Adam,
  RegressionTrainer,
  ResumeError,
  RunDir,
  checkpointSchedule,
  defaultAdam,
  evaluateRegression,
  trainRegression
} from "../src/index.js"

const cfg = { nLayers: 2, dModel: 16, nHeads: 2, xDim: 4, maxExamples: 6, tokenFormat: "y-scalar" as const, seed: 1 }
const D = 4, K = 6

/** y = w.x with one fixed w; the batch depends only on the step. */
function fixedW(batch: number, step: number) {
  const w = new Rng(0).normals(D)
  const rng = new Rng(1000 + step)
  const xs = rng.normals(batch * K * D)
  const ys = new Float32Array(batch * K)
  for (let i = 0; i < batch * K; i++) {
    let s = 0
    for (let j = 0; j < D; j++) s += w[j] * xs[i * D + j]
    ys[i] = s
  }
  return { xs, ys }
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let mx = 0
  for (let i = 0; i < a.length; i++) mx = Math.max(mx, Math.abs(a[i] - b[i]))
  return mx
}

beforeAll(async () => {
  process.env.CONCEPTSCOPE_QUIET = "1"
  await initBackend() // wasm, or the backend CONCEPTSCOPE_BACKEND names (the suite also runs on webgpu)
})

describe("checkpointSchedule", () => {
  it("follows the quadratic formula when steps do not collide", () => {
    expect(checkpointSchedule(100, 11)).toEqual([0, 1, 4, 9, 16, 25, 36, 49, 64, 81, 100])
  })
  it("always holds 0 and the last step, strictly increasing, min(count, T+1) entries, gaps growing", () => {
    for (const T of [1, 2, 3, 7, 10, 50, 99, 1000, 80000])
      for (const count of [2, 3, 5, 10, 20, 60, 200]) {
        const s = checkpointSchedule(T, count)
        expect(s[0]).toBe(0)
        expect(s[s.length - 1]).toBe(T)
        expect(s.length).toBe(Math.min(count, T + 1))
        for (let i = 1; i < s.length; i++) expect(s[i]).toBeGreaterThan(s[i - 1])
        if (s.length >= 4) expect(s[1] - s[0]).toBeLessThanOrEqual(s[s.length - 1] - s[s.length - 2])
      }
    expect(checkpointSchedule(0, 5)).toEqual([0])
  })
})

describe("Adam", () => {
  it("matches tf.train.adam on a quadratic over several steps", () => {
    const opts = { ...defaultAdam, lr: 0.05, beta2: 0.999 }
    const target = [0.3, -1.2, 2.0, 0.7]
    const a0 = [1, 1, -1, 0]
    // ours
    const adam = new Adam(opts, new Map([["a", [4]]]))
    const p = new Map([["a", new Float32Array(a0)]])
    // tfjs reference
    const v = tf.variable(tf.tensor1d(a0))
    const opt = tf.train.adam(opts.lr, opts.beta1, opts.beta2, opts.eps)
    const t = tf.tensor1d(target)
    for (let s = 0; s < 6; s++) {
      const g = new Float32Array(4).map((_, i) => 2 * (p.get("a")![i] - target[i]) * (i + 1))
      adam.step(p, new Map([["a", g]]))
      opt.minimize(() => tf.sum(tf.mul(tf.square(tf.sub(v, t)), tf.tensor1d([1, 2, 3, 4]))) as tf.Scalar, false, [v])
    }
    expect(maxAbsDiff(p.get("a")!, v.dataSync())).toBeLessThan(1e-5)
    expect(adam.t).toBe(6)
    tf.dispose([v, t])
    opt.dispose()
  })

  // the addon updates wasm heap tensors: nothing to compare on another backend
  it.runIf(loadNative().ok && process.env.CONCEPTSCOPE_NATIVE !== "0" && process.env.CONCEPTSCOPE_BACKEND !== "webgpu")("the addon's update is the JS loop's bit for bit (clipping scale, weight decay, 40 steps)", () => {
    const opts = { lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01 }
    const shapes = new Map([["w", [3001]], ["b", [7]]])
    const rng = new Rng(4)
    const init = new Map([...shapes].map(([n, s]) => [n, Float32Array.from(rng.normals(s[0], 1))]))
    const run = (native: boolean) => {
      installWasmKernels({ native })
      const adam = new Adam(opts, shapes)
      const p = new Map([...init].map(([n, x]) => [n, x.slice()]))
      const r = new Rng(5)
      for (let s = 0; s < 40; s++) adam.step(p, new Map([...shapes].map(([n, sh]) => [n, Float32Array.from(r.normals(sh[0], s % 7 === 0 ? 1e3 : 1))])), s % 3 === 0 ? 0.25 : 1, 1e-3 * (1 + (s % 4)))
      return { p, m: adam.m, v: adam.v }
    }
    const js = run(false)
    const nat = run(true)
    expect(nativeMatmulActive()).toBe(true)
    for (const part of ["p", "m", "v"] as const)
      for (const n of shapes.keys()) {
        const a = new Uint32Array(js[part].get(n)!.buffer)
        const b = new Uint32Array(nat[part].get(n)!.buffer)
        expect(b.findIndex((x, i) => x !== a[i]), `${part}.${n}`).toBe(-1)
      }
  })
})

describe("trainRegression", () => {
  it("lowers the loss clearly on a fixed-w regression (150 steps)", async () => {
    const r = await trainRegression({ model: cfg, steps: 150, batchSize: 32, lr: 1e-3, sampleBatch: fixedW, checkpoints: [] })
    const first = r.losses.slice(0, 5).reduce((a, b) => a + b) / 5
    const last = r.losses.slice(-20).reduce((a, b) => a + b) / 20
    expect(first).toBeGreaterThan(1)
    expect(last).toBeLessThan(0.3 * first)
    r.model.dispose()
  })

  it("resumes exactly from its run directory, whatever a kill left behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cs-ft-"))
    const common = { steps: 20, batchSize: 8, lr: 1e-3, sampleBatch: fixedW, clipGradNorm: 1.0, checkpoints: [0, 10, 20], stateEvery: 4 }
    const straight = await trainRegression({ ...common, model: cfg, runDir: join(dir, "straight") })
    const seen: number[] = []
    const crashed = await trainRegression({
      ...common,
      model: cfg,
      runDir: join(dir, "resumed"),
      onCheckpoint: (step) => {
        seen.push(step)
        if (step === 10) throw new Error("simulated crash")
      }
    }).catch((e: Error) => e)
    expect((crashed as Error).message).toBe("simulated crash")
    expect(seen).toEqual([0, 10])
    // the crash came after checkpoint 10 was written and before its state: the run resumes from step 8
    const run = new RunDir(join(dir, "resumed"))
    expect(run.savedStep()).toBe(8)
    // what a kill -9 can leave: a temporary file, a state directory step.json does not name
    writeFileSync(`${run.checkpointPath(10)}.tmp-1-2`, "")
    mkdirSync(run.statePaths(12).dir, { recursive: true })
    writeFileSync(run.statePaths(12).weights, "cut short")
    const resumed = await trainRegression({ ...common, model: cfg, runDir: join(dir, "resumed"), onCheckpoint: (step) => void seen.push(step) })
    expect(seen).toEqual([0, 10, 10, 20])
    expect(resumed.startStep).toBe(8)
    expect(Array.from(resumed.losses)).toEqual(Array.from(straight.losses.slice(8)))
    const files = (d: string) => readdirSync(join(dir, d, "checkpoints")).sort()
    expect(files("resumed")).toEqual(["step-00000000.safetensors", "step-00000010.safetensors", "step-00000020.safetensors"])
    expect(files("resumed")).toEqual(files("straight"))
    for (const f of files("straight")) expect(readFileSync(join(dir, "resumed", "checkpoints", f)).equals(readFileSync(join(dir, "straight", "checkpoints", f))), f).toBe(true)
    expect(readdirSync(run.stateDir).sort()).toEqual(["step-00000020", "step.json"])
    // a state that does not belong to the run it claims is refused with the file named
    writeFileSync(join(run.stateDir, "step.json"), JSON.stringify({ step: 12 }))
    await expect(trainRegression({ ...common, model: cfg, runDir: join(dir, "resumed") })).rejects.toThrow(ResumeError)
    straight.model.dispose()
    resumed.model.dispose()
  })

  it("keeps the number of live tensors constant across steps", () => {
    const model = RegressionTransformer.create(cfg)
    const trainer = new RegressionTrainer(model, { adam: defaultAdam, clipGradNorm: 0.5, lossFromIndex: 2 })
    const b = fixedW(8, 0)
    trainer.update(b.xs, b.ys, 8, K)
    const n0 = tf.memory().numTensors
    const bytes0 = tf.memory().numBytes
    for (let i = 0; i < 5; i++) trainer.update(b.xs, b.ys, 8, K)
    expect(tf.memory().numTensors).toBe(n0)
    expect(tf.memory().numBytes).toBe(bytes0)
    model.dispose()
  })

  it("reports the MSE of the chosen example indices, before the update", () => {
    const model = RegressionTransformer.create(cfg)
    const trainer = new RegressionTrainer(model, { adam: defaultAdam, lossFromIndex: 3 })
    const b = fixedW(4, 7)
    const p = model.predict(b.xs, b.ys, 4, K)
    let s = 0
    for (let r = 0; r < 4; r++) for (let k = 3; k < K; k++) s += (p[r * K + k] - b.ys[r * K + k]) ** 2
    expect(trainer.update(b.xs, b.ys, 4, K)).toBeCloseTo(s / (4 * (K - 3)), 5)
    model.dispose()
  })

  it("micro-batching accumulates the same gradient as one whole batch", () => {
    const b = fixedW(8, 4)
    const m1 = RegressionTransformer.create(cfg)
    const m2 = RegressionTransformer.create(cfg)
    const whole = new RegressionTrainer(m1, { adam: defaultAdam, microBatch: 8 })
    const chunks = new RegressionTrainer(m2, { adam: defaultAdam, microBatch: 3 }) // 3 + 3 + 2 rows
    const l1 = whole.update(b.xs, b.ys, 8, K)
    const l2 = chunks.update(b.xs, b.ys, 8, K)
    expect(Math.abs(l1 - l2)).toBeLessThan(1e-5 * l1)
    let mx = 0, scale = 0
    for (const [n, m] of whole.adam.m) {
      mx = Math.max(mx, maxAbsDiff(m, chunks.adam.m.get(n)!))
      scale = Math.max(scale, ...Array.from(m, Math.abs))
    }
    expect(mx).toBeLessThan(1e-4 * scale)
    m1.dispose()
    m2.dispose()
  })

  it("clips the global gradient norm before Adam", () => {
    const b = fixedW(8, 3)
    const m1 = RegressionTransformer.create(cfg)
    const m2 = RegressionTransformer.create(cfg)
    const free = new RegressionTrainer(m1, { adam: defaultAdam })
    const clipped = new RegressionTrainer(m2, { adam: defaultAdam, clipGradNorm: 1e-3 })
    free.update(b.xs, b.ys, 8, K)
    clipped.update(b.xs, b.ys, 8, K)
    // after one step m = (1 - beta1) * scale * g
    const g = new Map([...free.adam.m].map(([n, m]) => [n, m.map((x) => x / (1 - defaultAdam.beta1))]))
    const norm = Adam.gradNorm(g)
    expect(norm).toBeGreaterThan(1e-3)
    const expected = 1e-3 / (norm + 1e-6)
    const ratios: number[] = []
    for (const [n, m] of clipped.adam.m) {
      const ref = free.adam.m.get(n)!
      for (let i = 0; i < m.length; i++) if (Math.abs(ref[i]) > 1e-6) ratios.push(m[i] / ref[i])
    }
    expect(Math.max(...ratios.map((r) => Math.abs(r / expected - 1)))).toBeLessThan(1e-3)
    m1.dispose()
    m2.dispose()
  })
})

describe("evaluateRegression", () => {
  const N = 10
  const rng = new Rng(5)
  const xs = rng.normals(N * K * D)
  const ys = rng.normals(N * K, 2)
  const basis = [0, 1, 2, 0, 1, 2, 0, 0, 1, 2]

  it("scores a model that predicts 0 at exactly 1 normalised, and mean y^2 raw", () => {
    const model = RegressionTransformer.create(cfg)
    const w = model.weights()
    w.set("unembed.W_U", { shape: [16, 1], data: new Float32Array(16) })
    model.setWeights(w)
    const r = evaluateRegression(model, { xs, ys, basis, nBases: 3 }, 4)
    expect(r.nmse).toBeCloseTo(1, 10)
    r.nmsePerBasis.forEach((x) => expect(x).toBeCloseTo(1, 10))
    r.nmsePerIndex.forEach((x) => expect(x).toBeCloseTo(1, 10))
    expect(r.mse).toBeCloseTo(ys.reduce((a, y) => a + y * y, 0) / (N * K), 5)
    expect(r.counts).toEqual([4, 3, 3])
    model.dispose()
  })

  it("agrees with a brute-force computation from the predictions", () => {
    const model = RegressionTransformer.create(cfg)
    const r = evaluateRegression(model, { xs, ys, basis, nBases: 3 }, 3)
    const p = model.predict(xs, ys, N, K)
    const b1 = [1, 4, 8]
    const se = (i: number, k: number) => (p[i * K + k] - ys[i * K + k]) ** 2
    const mse1 = b1.reduce((a, i) => a + Array.from({ length: K }, (_, k) => se(i, k)).reduce((x, y) => x + y), 0) / (3 * K)
    expect(r.perBasis[1]).toBeCloseTo(mse1, 5)
    const idx2 = Array.from({ length: N }, (_, i) => se(i, 2)).reduce((x, y) => x + y) / N
    expect(r.perIndex[2]).toBeCloseTo(idx2, 5)
    const y2 = Array.from({ length: N }, (_, i) => ys[i * K + 2] ** 2).reduce((x, y) => x + y)
    expect(r.nmsePerIndex[2]).toBeCloseTo((idx2 * N) / y2, 5)
    expect(r.perBasisIndex[1][0]).toBeCloseTo(b1.reduce((a, i) => a + se(i, 0), 0) / 3, 5)
    model.dispose()
  })
})
