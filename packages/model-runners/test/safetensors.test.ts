import { describe, expect, it } from "vitest"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { SafetensorsError, loadSafetensors, saveSafetensors } from "../src/index"

const dir = mkdtempSync(join(tmpdir(), "cs-st-"))

/** Build a safetensors file byte by byte from the format description (independent of the writer). */
function handMade(header: object, data: Float32Array): Buffer {
  const h = Buffer.from(JSON.stringify(header), "utf8")
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(h.length))
  return Buffer.concat([len, h, Buffer.from(data.buffer)])
}

describe("safetensors", () => {
  it("round-trips tensors and metadata, with an 8-byte aligned header in the documented layout", async () => {
    const path = join(dir, "a.safetensors")
    const a = { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6.5]) }
    const b = { shape: [4], data: new Float32Array([-1, 0, 1e-8, 3.4e38]) }
    const s = { shape: [], data: new Float32Array([7]) }
    await saveSafetensors(path, new Map([["blocks.0.attn.W_Q", a], ["b", b], ["scalar", s]]), { config: '{"x":1}' })
    const raw = readFileSync(path)
    const n = Number(raw.readBigUInt64LE(0))
    expect(n % 8).toBe(0)
    const header = JSON.parse(raw.subarray(8, 8 + n).toString("utf8"))
    expect(header["blocks.0.attn.W_Q"]).toEqual({ dtype: "F32", shape: [2, 3], data_offsets: [0, 24] })
    expect(header.b.data_offsets).toEqual([24, 40])
    expect(header.__metadata__).toEqual({ config: '{"x":1}' })
    expect(raw.length).toBe(8 + n + 44)
    expect(raw.readFloatLE(8 + n + 20)).toBe(6.5)
    const back = await loadSafetensors(path)
    expect(back.metadata).toEqual({ config: '{"x":1}' })
    expect(back.tensors.get("blocks.0.attn.W_Q")).toEqual(a)
    expect(back.tensors.get("b")).toEqual(b)
    expect(back.tensors.get("scalar")!.shape).toEqual([])
  })

  it("reads a hand-made file (tensors out of order in the data section)", async () => {
    const path = join(dir, "hand.safetensors")
    const header = { y: { dtype: "F32", shape: [2], data_offsets: [8, 16] }, x: { dtype: "F32", shape: [1, 2], data_offsets: [0, 8] } }
    writeFileSync(path, handMade(header, new Float32Array([1, 2, 3, 4])))
    const { tensors, metadata } = await loadSafetensors(path)
    expect(metadata).toEqual({})
    expect(Array.from(tensors.get("x")!.data)).toEqual([1, 2])
    expect(Array.from(tensors.get("y")!.data)).toEqual([3, 4])
  })

  const expectError = async (path: string, pattern: RegExp, tensor?: string) => {
    const e = await loadSafetensors(path).then(
      () => null,
      (err: unknown) => err
    )
    expect(e).toBeInstanceOf(SafetensorsError)
    const se = e as SafetensorsError
    expect(se.file).toBe(path)
    if (tensor) expect(se.tensor).toBe(tensor)
    expect(se.reason).toMatch(pattern)
  }

  it("names the file and tensor for truncated files, bad offsets and bad dtypes", async () => {
    const good = join(dir, "good.safetensors")
    await saveSafetensors(good, { w: { shape: [4, 4], data: new Float32Array(16).fill(1) } })
    const bytes = readFileSync(good)

    const trunc = join(dir, "trunc.safetensors")
    writeFileSync(trunc, bytes.subarray(0, bytes.length - 5))
    await expectError(trunc, /truncated/, "w")

    const tiny = join(dir, "tiny.safetensors")
    writeFileSync(tiny, bytes.subarray(0, 5))
    await expectError(tiny, /truncated/)

    const longHeader = join(dir, "long.safetensors")
    const lh = Buffer.from(bytes)
    lh.writeBigUInt64LE(10_000n, 0)
    writeFileSync(longHeader, lh)
    await expectError(longHeader, /header length/)

    const badOff = join(dir, "badoff.safetensors")
    writeFileSync(badOff, handMade({ w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, new Float32Array(4)))
    await expectError(badOff, /needs 16/, "w")

    const reversed = join(dir, "rev.safetensors")
    writeFileSync(reversed, handMade({ w: { dtype: "F32", shape: [1], data_offsets: [8, 4] } }, new Float32Array(4)))
    await expectError(reversed, /bad data_offsets/, "w")

    const f16 = join(dir, "f16.safetensors")
    writeFileSync(f16, handMade({ h: { dtype: "F16", shape: [2], data_offsets: [0, 4] } }, new Float32Array(1)))
    await expectError(f16, /dtype "F16"/, "h")

    const notJson = join(dir, "nojson.safetensors")
    const nj = Buffer.alloc(12)
    nj.writeBigUInt64LE(4n, 0)
    nj.write("{{{{", 8)
    writeFileSync(notJson, nj)
    await expectError(notJson, /not JSON/)

    await expectError(join(dir, "missing.safetensors"), /cannot open/)
  })

  it("refuses to write inconsistent tensors", async () => {
    await expect(saveSafetensors(join(dir, "bad.safetensors"), { w: { shape: [3], data: new Float32Array(2) } })).rejects.toThrow(
      SafetensorsError
    )
  })
})
