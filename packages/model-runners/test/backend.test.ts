import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { Rng } from "@conceptscope/core"
import { BackendError, initBackend, matmul } from "../src/index.js"
import { channelMatmul } from "../src/channel-matmul.js"

const rand = (rng: Rng, shape: number[]) => tf.tensor(rng.normals(shape.reduce((a, b) => a * b, 1)), shape)
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let mx = 0
  for (let i = 0; i < a.length; i++) mx = Math.max(mx, Math.abs(a[i] - b[i]))
  return mx
}

beforeAll(async () => {
  process.env.CONCEPTSCOPE_QUIET = "1"
  delete process.env.CONCEPTSCOPE_BACKEND
})

describe("initBackend", () => {
  it("falls back to wasm when the optional node backends are absent, and is idempotent", async () => {
    const a = await initBackend("auto")
    expect(a.name).toBe("wasm")
    expect(a.reason).toMatch(/tfjs-node-gpu/)
    // without a GPU device node auto does not load Dawn; with one, lavapipe (a software adapter) is passed over
    expect(a.reason).toMatch(/webgpu: (no GPU device node|.*\(software adapter\) is not a GPU; auto never picks it|Dawn found no WebGPU adapter)/)
    expect(await initBackend("auto")).toBe(a)
    const w = await initBackend("wasm")
    expect(w.name).toBe("wasm")
    expect(tf.getBackend()).toBe("wasm")
  })

  it("honours CONCEPTSCOPE_BACKEND and rejects unknown names", async () => {
    process.env.CONCEPTSCOPE_BACKEND = "tfjs-node"
    const r = await initBackend()
    expect(r.name).toBe("wasm") // tfjs-node is not installed here: falls back down the order
    expect(r.reason).toMatch(/CONCEPTSCOPE_BACKEND=tfjs-node; unavailable: tfjs-node:/)
    expect((await initBackend("cpu")).name).toBe("cpu")
    expect(tf.getBackend()).toBe("cpu")
    process.env.CONCEPTSCOPE_BACKEND = "tpu"
    await expect(initBackend()).rejects.toThrow(BackendError)
    delete process.env.CONCEPTSCOPE_BACKEND
    expect((await initBackend("wasm")).name).toBe("wasm")
    expect(tf.getBackend()).toBe("wasm")
  })
})

describe.skipIf(process.env.CONCEPTSCOPE_SKIP_WEBGPU === "1")("webgpu by name", () => {
  it("takes the software adapter that auto passes over, names it, installs the WGSL kernels, and reads back synchronously", async () => {
    const g = await initBackend("webgpu")
    expect(g.name).toBe("webgpu")
    expect(tf.getBackend()).toBe("webgpu")
    expect(g.reason).toMatch(/adapter .+; 13 WGSL kernels/)
    const a = tf.tensor2d([1, 2, 3, 4], [2, 2])
    const b = tf.matMul(a, a)
    expect(Array.from(b.dataSync())).toEqual([7, 10, 15, 22]) // dataSync: the pumped buffer map, no OffscreenCanvas
    expect(await b.array()).toEqual([[7, 10], [15, 22]])
    tf.dispose([a, b])
    expect((await initBackend("wasm")).name).toBe("wasm")
  })
})

describe("matmul with the explicit-transpose gradient (wasm)", () => {
  beforeAll(async () => {
    await initBackend("wasm")
  })

  const cases: Array<[number[], number[]]> = [
    [[5, 7], [7, 3]],
    [[1, 9], [9, 1]],
    [[4, 6, 5], [5, 3]], // 3D x 2D: flattened to a 2D product
    [[3, 4, 5], [3, 5, 6]], // batched
    [[2, 3, 4, 5], [2, 3, 5, 2]] // batched, rank 4
  ]
  for (const [sa, sb] of cases) {
    it(`value and gradients equal tf's built-in for [${sa}] @ [${sb}]`, () => {
      const rng = new Rng(sa.length * 100 + sb[sb.length - 1])
      const a = rand(rng, sa)
      const b = rand(rng, sb)
      const outShape = [...sa.slice(0, -1), sb[sb.length - 1]]
      const r = rand(rng, outShape)
      const builtin = (x: tf.Tensor, y: tf.Tensor) =>
        y.rank === 2 && x.rank > 2 ? tf.matMul(x, tf.broadcastTo(y, [...x.shape.slice(0, -2), ...y.shape])) : tf.matMul(x, y)
      const loss = (mm: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(mm(x, y), r))
      expect(maxAbsDiff(matmul(a, b).dataSync(), builtin(a, b).dataSync())).toBeLessThan(1e-5)
      const [ga, gb] = tf.grads(loss(matmul))([a, b])
      const [ha, hb] = tf.grads(loss(builtin))([a, b])
      expect(ga.shape).toEqual(sa)
      expect(gb.shape).toEqual(sb)
      expect(maxAbsDiff(ga.dataSync(), ha.dataSync())).toBeLessThan(1e-5)
      expect(maxAbsDiff(gb.dataSync(), hb.dataSync())).toBeLessThan(1e-5)
      tf.dispose([a, b, r, ga, gb, ha, hb])
    })
  }

  it("rejects broadcasting batch dims", () => {
    expect(() => matmul(tf.zeros([2, 3, 4]), tf.zeros([1, 4, 5]))).toThrow(/batch dims/)
  })
})

describe("wasm kernel replacements", () => {
  beforeAll(async () => {
    await initBackend("wasm")
  })

  it("Sum over leading axes equals a brute-force sum (and other axes still work)", () => {
    const rng = new Rng(3)
    const shape = [5, 3, 7]
    const data = rng.normals(105)
    const x = tf.tensor3d(data, shape as [number, number, number])
    const brute = (axes: number[]) => {
      const keep = [0, 1, 2].filter((a) => !axes.includes(a))
      const outShape = keep.map((a) => shape[a])
      const out = new Float64Array(outShape.reduce((a, b) => a * b, 1))
      for (let i = 0; i < 5; i++)
        for (let j = 0; j < 3; j++)
          for (let k = 0; k < 7; k++) {
            const idx = [i, j, k]
            const o = keep.reduce((acc, a, n) => acc * outShape[n] + idx[a], 0)
            out[o] += data[(i * 3 + j) * 7 + k]
          }
      return out
    }
    for (const axes of [[0], [0, 1], [1], [2], [1, 2]]) {
      const s = tf.sum(x, axes)
      expect(maxAbsDiff(s.dataSync(), brute(axes))).toBeLessThan(1e-5)
      s.dispose()
    }
    const kd = tf.sum(x, [0, 1], true)
    expect(kd.shape).toEqual([1, 1, 7])
    expect(maxAbsDiff(kd.dataSync(), brute([0, 1]))).toBeLessThan(1e-5)
    const x4 = tf.tensor4d(rng.normals(2 * 3 * 5 * 2), [2, 3, 5, 2])
    const mid = tf.sum(x4, [1, 2]) // middle block
    const v4 = x4.arraySync() as number[][][][]
    const midRef = [0, 1].flatMap((i) => [0, 1].map((l) => v4[i].flat().reduce((a, row) => a + row[l], 0)))
    expect(maxAbsDiff(mid.dataSync(), midRef)).toBeLessThan(1e-5)
    tf.dispose([x4, mid])
    const big = tf.ones([1003, 5]) // rows not a multiple of 4
    expect(Array.from(tf.sum(big, 0).dataSync())).toEqual([1003, 1003, 1003, 1003, 1003])
    tf.dispose([x, kd, big])
  })

  it("zero-copy Identity/Cast keep values after the source is disposed; casts to other dtypes convert", () => {
    const a = tf.tensor1d([1.5, -2.25, 3])
    const c = tf.clone(a)
    const d = tf.cast(a, "float32")
    const i = tf.cast(a, "int32")
    a.dispose()
    expect(Array.from(c.dataSync())).toEqual([1.5, -2.25, 3])
    expect(Array.from(d.dataSync())).toEqual([1.5, -2.25, 3])
    expect(i.dtype).toBe("int32")
    expect(Array.from(i.dataSync())).toEqual([1, -2, 3])
    tf.dispose([c, d, i])
  })
})

describe("channelMatmul (depthwise-convolution batched product on wasm)", () => {
  beforeAll(async () => {
    await initBackend("wasm")
  })
  for (const [M, C, N, P] of [[3, 4, 5, 2], [7, 6, 12, 7], [1, 1, 1, 1]]) {
    it(`value and gradients equal a brute-force reference for a [${M},${C},${N}] b [${C},${N},${P}]`, () => {
      const rng = new Rng(M * 1000 + N)
      const a = rand(rng, [M, C, N])
      const b = rand(rng, [C, N, P])
      const r = rand(rng, [M, N, P])
      const av = a.dataSync(), bv = b.dataSync(), rv = r.dataSync()
      // brute force: out[m,n,p] = sum_c a[m,c,n] b[c,n,p]; loss = sum(out * r)
      const out = new Float64Array(M * N * P)
      const da = new Float64Array(M * C * N)
      const db = new Float64Array(C * N * P)
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++)
          for (let p = 0; p < P; p++)
            for (let c = 0; c < C; c++) {
              const ai = (m * C + c) * N + n, bi = (c * N + n) * P + p, oi = (m * N + n) * P + p
              out[oi] += av[ai] * bv[bi]
              da[ai] += rv[oi] * bv[bi]
              db[bi] += rv[oi] * av[ai]
            }
      expect(maxAbsDiff(channelMatmul(a, b).dataSync(), out)).toBeLessThan(1e-5)
      const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(channelMatmul(x, y), r)))([a, b])
      expect(maxAbsDiff(ga.dataSync(), da)).toBeLessThan(1e-5)
      expect(maxAbsDiff(gb.dataSync(), db)).toBeLessThan(1e-5)
      tf.dispose([a, b, r, ga, gb])
    })
  }
})
