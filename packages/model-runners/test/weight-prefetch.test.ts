import { SafetensorsReader, writeSafetensors } from "@conceptscope/safetensors"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { heapReaderActive } from "@conceptscope/kernels"
import * as tf from "@tensorflow/tfjs"
import { fileURLToPath } from "node:url"
import { CausalLM, initBackend, type TensorRange, WeightPrefetcher } from "../src/index.js"

/** The reader thread of streamed mode against the synchronous reader, per stored dtype. */
describe("WeightPrefetcher", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cs-prefetch-"))
  const file = path.join(dir, "w.safetensors")
  // values that exercise signs, subnormals (F16), Inf and NaN, and a tensor larger than the reader's chunk
  const special = [0, -0, 1, -2.5, 1e-6, 6e-8, 65504, 1e5, -Infinity, NaN, 3.14159]
  const big = Float32Array.from({ length: (1 << 20) + 37 }, (_, i) => Math.sin(i) * 100)
  const plan = [
    { name: "a", shape: [special.length], dtype: "F32" as const, data: Float32Array.from(special) },
    { name: "b", shape: [special.length], dtype: "F16" as const, data: Float32Array.from(special) },
    { name: "c", shape: [special.length], dtype: "BF16" as const, data: Float32Array.from(special) },
    { name: "d", shape: [big.length], dtype: "BF16" as const, data: big },
    { name: "e", shape: [big.length], dtype: "F16" as const, data: big }
  ]
  let reader: SafetensorsReader
  let pre: WeightPrefetcher
  const range = (name: string): TensorRange => {
    const t = reader.tensors.get(name)!
    return { file, begin: t.begin, end: t.end, dtype: t.dtype, numel: t.shape.reduce((a, b) => a * b, 1) }
  }
  beforeAll(async () => {
    await writeSafetensors(file, plan, (t) => t.data)
    reader = SafetensorsReader.open(file)
    pre = new WeightPrefetcher()
  })
  afterAll(() => {
    pre.close()
    reader.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("decodes F32, F16 and BF16 bit for bit as the synchronous reader does", () => {
    const names = ["a", "b", "c", "d", "e"]
    pre.request("stage", names.map(range))
    const got = pre.take("stage")!
    expect(got).toHaveLength(names.length)
    names.forEach((n, i) => {
      const want = reader.read(n)
      const g = new Uint32Array(got[i].buffer, got[i].byteOffset, got[i].length)
      const w = new Uint32Array(want.buffer, want.byteOffset, want.length)
      expect(g.length).toBe(w.length)
      let firstDiff = -1
      for (let j = 0; j < w.length && firstDiff < 0; j++) if (g[j] !== w[j]) firstDiff = j
      expect(firstDiff, n).toBe(-1)
    })
  })

  it("gives nothing for a key that is not in flight, and nothing twice", () => {
    pre.request("1", [range("a")])
    expect(pre.take("2")).toBeNull()
    expect(pre.take("1")).not.toBeNull()
    expect(pre.take("1")).toBeNull()
  })

  it("a newer request replaces the one in flight", () => {
    pre.request("x", [range("a")])
    pre.request("y", [range("c")])
    expect(pre.take("x")).toBeNull()
    expect(Array.from(pre.take("y")![0])).toEqual(Array.from(reader.read("c")))
  })

  it("a failed read (a range past the end of the file) gives null, so the caller reads and reports it", () => {
    const size = fs.statSync(file).size
    pre.request("bad", [{ file, begin: size - 8, end: size + 8, dtype: "F32", numel: 4 }])
    expect(pre.take("bad")).toBeNull()
    pre.request("missing", [{ file: path.join(dir, "nope.safetensors"), begin: 0, end: 4, dtype: "F32", numel: 1 }])
    expect(pre.take("missing")).toBeNull()
  })
})

describe("streamed mode reads through the prefetcher", () => {
  const here = path.dirname(fileURLToPath(import.meta.url))
  beforeAll(() => initBackend())
  it.each(["llama3-rope-scaling-bf16-sharded", "gpt2", "qwen2-qkv-bias-f16"])("%s: every stage after the embedding comes from the reader, and the logits equal memory mode's bit for bit", (name) => {
    const dir = path.join(here, "fixtures/hf", name)
    const ids = JSON.parse(fs.readFileSync(path.join(dir, "ids.json"), "utf8")) as number[][]
    const memory = CausalLM.load(dir, { mode: "memory" })
    const streamed = CausalLM.load(dir, { mode: "streamed" })
    const L = streamed.arch.dims.nLayers
    for (let pass = 0; pass < 2; pass++) {
      const want = memory.forward({ ids }).logits as tf.Tensor
      const got = streamed.forward({ ids }).logits as tf.Tensor
      expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()))
      tf.dispose([want, got])
    }
    // blocks and the final stage on both passes; the embedding (rows by token) is read on demand
    expect(streamed.prefetchStats()).toEqual({ kind: heapReaderActive() ? "native" : "worker", hits: 2 * (L + 1), misses: 0 })
    expect(memory.prefetchStats()).toBeNull()
    memory.dispose()
    streamed.dispose()
  })
})
