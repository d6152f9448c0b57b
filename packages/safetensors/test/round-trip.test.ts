import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import {
  type Dtype,
  DTYPES,
  decode,
  encode,
  loadSafetensors,
  SafetensorsError,
  SafetensorsReader,
  saveSafetensors,
  writeSafetensors
} from "../src/index.js"
import { expectSafetensorsError, handMade, tempDir } from "./helpers.js"

const dir = tempDir("rt")

/** Values exactly representable in every dtype, plus ones that round. */
const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 31 + i * 1.7) * 4 + (i % 3 === 0 ? 1 / 64 : 0))
const stored = (v: Float32Array, d: Dtype) => decode(encode(v, d), d) // what a dtype keeps of v

describe("writer -> reader round trips", () => {
  for (const dtype of DTYPES) {
    it(`${dtype}: shapes (matrix, vector, scalar, empty), metadata, header order`, async () => {
      const path = join(dir, `rt-${dtype}.safetensors`)
      const tensors = [
        { name: "blocks.0.attn.W_Q", shape: [3, 5], dtype },
        { name: "b", shape: [7], dtype },
        { name: "scalar", shape: [], dtype },
        { name: "empty", shape: [0, 4], dtype }
      ]
      const data = new Map(tensors.map((t, i) => [t.name, values(t.shape.reduce((a, b) => a * b, 1), i)]))
      const asked: string[] = []
      const size = await writeSafetensors(path, tensors, (t) => (asked.push(t.name), data.get(t.name) as Float32Array), { format: "pt", note: "ünïcode" })
      expect(asked).toEqual(tensors.map((t) => t.name)) // streamed in order, once each
      expect(size).toBe(readFileSync(path).length)
      const r = SafetensorsReader.open(path)
      try {
        expect([...r.tensors.keys()]).toEqual(tensors.map((t) => t.name))
        expect(r.metadata).toEqual({ format: "pt", note: "ünïcode" })
        for (const t of tensors) {
          expect(r.tensors.get(t.name)?.dtype).toBe(dtype)
          expect(r.tensors.get(t.name)?.shape).toEqual(t.shape)
          expect(Array.from(r.read(t.name))).toEqual(Array.from(stored(data.get(t.name) as Float32Array, dtype)))
        }
      } finally {
        r.close()
      }
      const eager = await loadSafetensors(path)
      expect(eager.tensors.get("scalar")?.shape).toEqual([])
      expect(eager.tensors.get("empty")?.data.length).toBe(0)
      expect(Array.from(eager.tensors.get("b")?.data ?? [])).toEqual(Array.from(stored(data.get("b") as Float32Array, dtype)))
    })
  }

  it("readInto converts straight into a view of a larger buffer, over several chunks", () => {
    const n = 2 ** 21 + 5 // more than one read chunk
    const v = values(n, 3)
    const path = join(dir, "big.safetensors")
    for (const dtype of ["BF16", "F32"] as const) {
      writeFileSync(path, handMade({ x: { dtype, shape: [n], data_offsets: [0, n * (dtype === "F32" ? 4 : 2)] } }, encode(v, dtype)))
      const r = SafetensorsReader.open(path)
      const backing = new Float32Array(n + 2).fill(-7)
      r.readInto("x", backing.subarray(1, n + 1))
      r.close()
      expect(backing[0]).toBe(-7)
      expect(backing[n + 1]).toBe(-7)
      const want = stored(v, dtype)
      expect(backing[1]).toBe(want[0])
      expect(backing[2 ** 21 + 1]).toBe(want[2 ** 21])
      expect(backing[n]).toBe(want[n - 1])
    }
  })

  it("reads a hand-made file whose tensors are out of order in the data section", async () => {
    const path = join(dir, "hand.safetensors")
    writeFileSync(path, handMade({ y: { dtype: "F32", shape: [2], data_offsets: [8, 16] }, x: { dtype: "F32", shape: [1, 2], data_offsets: [0, 8] } }, new Float32Array([1, 2, 3, 4])))
    const { tensors, metadata } = await loadSafetensors(path)
    expect(metadata).toEqual({})
    expect(Array.from(tensors.get("x")?.data ?? [])).toEqual([1, 2])
    expect(Array.from(tensors.get("y")?.data ?? [])).toEqual([3, 4])
  })

  it("reader errors: no such tensor, wrong destination size, closed", async () => {
    const path = join(dir, "small.safetensors")
    await saveSafetensors(path, { w: { shape: [2], data: new Float32Array([1, 2]) } })
    const r = SafetensorsReader.open(path)
    await expectSafetensorsError(() => r.read("nope"), path, "nope", /no such tensor/)
    await expectSafetensorsError(() => r.readInto("w", new Float32Array(3)), path, "w", /destination holds 3 values, the tensor 2/)
    r.close()
    await expectSafetensorsError(() => r.read("w"), path, "w", /reader is closed/)
    await expectSafetensorsError(() => SafetensorsReader.open(join(dir, "missing.safetensors")), join(dir, "missing.safetensors"), null, /cannot open/)
  })
})

describe("rows of a matrix", () => {
  for (const dtype of DTYPES) {
    it(`${dtype}: readRowsInto gives the rows of read(), in the order asked, repeats included`, async () => {
      const path = join(dir, `rows-${dtype}.safetensors`)
      const v = values(9 * 6, 3)
      await writeSafetensors(path, [{ name: "E", shape: [9, 6], dtype }], () => v)
      const r = SafetensorsReader.open(path)
      try {
        const all = r.read("E")
        const rows = [8, 0, 3, 3]
        const got = r.readRowsInto("E", rows, new Float32Array(rows.length * 6))
        expect(Array.from(got)).toEqual(rows.flatMap((row) => Array.from(all.subarray(row * 6, (row + 1) * 6))))
        await expectSafetensorsError(() => r.readRowsInto("E", [9], new Float32Array(6)), path, "E", /row 9 outside 0\.\.8/)
        await expectSafetensorsError(() => r.readRowsInto("E", [1, 2], new Float32Array(6)), path, "E", /destination holds 6 values/)
      } finally {
        r.close()
      }
    })
  }
})

describe("writer checks and atomicity", () => {
  it("refuses bad input before writing, and leaves the previous file and no temp file on failure", async () => {
    const sub = tempDir("atomic")
    const path = join(sub, "w.safetensors")
    await saveSafetensors(path, { w: { shape: [1], data: new Float32Array([5]) } })
    const before = readFileSync(path)
    await expectSafetensorsError(() => saveSafetensors(path, { w: { shape: [3], data: new Float32Array(2) } }), path, "w", /data has 2 values, shape \[3\] needs 3/)
    await expectSafetensorsError(() => saveSafetensors(path, { __metadata__: { shape: [1], data: new Float32Array(1) } }), path, "__metadata__", /reserved name/)
    await expectSafetensorsError(() => saveSafetensors(path, { w: { shape: [-1], data: new Float32Array(1) } }), path, "w", /bad shape/)
    await expectSafetensorsError(() => saveSafetensors(path, {}, { n: 3 as unknown as string }), path, null, /metadata "n" must be a string/)
    const twice = [{ name: "a", shape: [1], dtype: "F32" as const }, { name: "a", shape: [1], dtype: "F32" as const }]
    await expectSafetensorsError(() => writeSafetensors(path, twice, () => new Float32Array(1)), path, "a", /given twice/)
    await expectSafetensorsError(() => writeSafetensors(path, [{ name: "i", shape: [1], dtype: "I64" as Dtype }], () => new Float32Array(1)), path, "i", /unsupported dtype "I64"/)
    const failing = writeSafetensors(path, [{ name: "a", shape: [1], dtype: "F32" }, { name: "b", shape: [1], dtype: "F32" }], (t) => {
      if (t.name === "b") throw new Error("source failed")
      return new Float32Array(1)
    })
    await expect(failing).rejects.toThrow("source failed")
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(readdirSync(sub)).toEqual(["w.safetensors"])
  })

  it("creates missing parent directories; async value sources are awaited", async () => {
    const path = join(dir, "deep", "er", "x.safetensors")
    await writeSafetensors(path, [{ name: "x", shape: [2], dtype: "F16" }], async () => new Float32Array([0.5, -1]))
    expect(existsSync(path)).toBe(true)
    expect(Array.from((await loadSafetensors(path)).tensors.get("x")?.data ?? [])).toEqual([0.5, -1])
  })

  it("the error is an Effect tagged error with a one-line message", async () => {
    const e = new SafetensorsError({ file: "f.safetensors", tensor: "t", reason: "bad\nsecond line" })
    expect(e._tag).toBe("SafetensorsError")
    expect(e.message).toBe("f.safetensors [t]: bad")
    expect(new SafetensorsError({ file: "f", reason: "r" }).message).toBe("f: r")
  })
})
