import * as tf from "@tensorflow/tfjs"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { heapReaderActive, installWasmKernels, loadNative, startHeapRead } from "../src/index.js"
import { useWasm } from "./helpers.js"

const status = loadNative()
const native = describe.runIf(status.ok)

/** IEEE half bits -> float32, from the definition (an independent formulation of native/reader.h's). */
const halfRef = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1
  const e = (h >>> 10) & 0x1f
  const m = h & 0x3ff
  if (e === 0) return sign * m * 2 ** -24
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN
  return sign * (1 + m / 1024) * 2 ** (e - 15)
}

native("the native heap reader (checkpoint bytes into wasm tensors on a thread)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cs-heap-read-"))
  const file = path.join(dir, "bytes.bin")
  const f32 = Float32Array.from({ length: 3001 }, (_, i) => (i === 7 ? NaN : i === 8 ? -Infinity : Math.sin(i) * 1e3))
  const halves = Uint16Array.from({ length: 65536 }, (_, i) => i) // every F16 / BF16 bit pattern
  const lead = 13 // an odd offset: positions need no alignment
  let fd = -1
  beforeAll(async () => {
    await useWasm()
    installWasmKernels()
    const bytes = Buffer.concat([Buffer.alloc(lead, 7), Buffer.from(f32.buffer), Buffer.from(halves.buffer), Buffer.from(halves.buffer)])
    fs.writeFileSync(file, bytes)
    fd = fs.openSync(file, "r")
  })
  afterAll(() => {
    fs.closeSync(fd)
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("reads F32 as stored and decodes every F16 and BF16 bit pattern, while the heap grows meanwhile", () => {
    expect(heapReaderActive()).toBe(true)
    const at16 = lead + f32.byteLength
    const read = startHeapRead([
      { fd, position: lead, dtype: "F32", shape: [3001] },
      { fd, position: at16, dtype: "F16", shape: [256, 256] },
      { fd, position: at16 + halves.byteLength, dtype: "BF16", shape: [65536] }
    ])
    const big = tf.zeros([64 * 2 ** 20]) // 256 MB: the heap grows while the thread writes
    const n0 = tf.memory().numTensors
    const tensors = read.wait()!
    expect(tensors).toHaveLength(3)
    expect(tf.memory().numTensors).toBe(n0 + 3) // tensors exist from the wait on, not before
    big.dispose()
    const [a, b, c] = tensors.map((t) => t.dataSync() as Float32Array)
    expect(Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length))).toEqual(Array.from(new Uint32Array(f32.buffer)))
    const bad16: number[] = []
    halves.forEach((h, i) => {
      const want = halfRef(h)
      if (!(Object.is(b[i], want) || (Number.isNaN(want) && Number.isNaN(b[i])))) bad16.push(h)
    })
    expect(bad16).toEqual([])
    const bits = new Uint32Array(c.buffer, c.byteOffset, c.length)
    let badBf16 = -1
    for (let i = 0; i < 65536 && badBf16 < 0; i++) if (bits[i] !== halves[i] * 65536) badBf16 = i
    expect(badBf16).toBe(-1)
    tf.dispose(tensors)
  })

  it("a read past the end of the file fails, and its tensors are disposed", () => {
    const size = fs.statSync(file).size
    const read = startHeapRead([
      { fd, position: lead, dtype: "F32", shape: [4] },
      { fd, position: size - 8, dtype: "F32", shape: [4] }
    ])
    const n0 = tf.memory().numTensors
    expect(read.wait()).toBeNull()
    expect(tf.memory().numTensors).toBe(n0)
    expect(() => read.wait()).toThrow(/already joined/)
    read.discard() // after a wait: nothing to do
  })

  it("a discarded read frees its memory and makes no tensor", () => {
    const n0 = tf.memory().numTensors
    const bytes0 = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length
    for (let i = 0; i < 20; i++) startHeapRead([{ fd, position: lead, dtype: "F32", shape: [3001] }]).discard()
    expect(tf.memory().numTensors).toBe(n0)
    expect((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length).toBe(bytes0) // freed memory was reused
  })
})
