import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, it } from "vitest"
import { loadSafetensors, MAX_HEADER_BYTES, SafetensorsReader, saveSafetensors } from "../src/index.js"
import { expectSafetensorsError, tempDir, writeHandMade } from "./helpers.js"

/**
 * One rejection per header rule of parse-header.ts. Each file is opened by both the lazy reader and the
 * eager loader; the error must name the file, the tensor at fault (or none) and the reason, on one line.
 */
const dir = tempDir("validate")
let k = 0
const file = () => join(dir, `case-${k++}.safetensors`)
const f32 = (n: number) => new Float32Array(n)

async function rejects(path: string, tensor: string | null, pattern: RegExp): Promise<void> {
  await expectSafetensorsError(() => SafetensorsReader.open(path), path, tensor, pattern)
  await expectSafetensorsError(() => loadSafetensors(path), path, tensor, pattern)
}

const prefixOnly = (n: bigint, rest: Buffer = Buffer.alloc(0)) => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(n)
  return Buffer.concat([b, rest])
}

describe("header validation: one rejection per rule", () => {
  it("the file must hold the 8-byte header length", async () => {
    const path = file()
    writeFileSync(path, Buffer.from([1, 2, 3, 4, 5]))
    await rejects(path, null, /^truncated: 5 bytes, no header length$/)
  })

  it("the header length must not exceed 100,000,000 bytes", async () => {
    const path = file()
    writeFileSync(path, prefixOnly(BigInt(MAX_HEADER_BYTES + 1), Buffer.from("{}")))
    await rejects(path, null, /header length 100000001 exceeds the limit of 100000000 bytes/)
  })

  it("the header must fit in the file", async () => {
    const path = file()
    writeFileSync(path, prefixOnly(10_000n, Buffer.from("{}      ")))
    await rejects(path, null, /truncated: header length 10000 exceeds file size 16/)
  })

  it("the header must be UTF-8", async () => {
    const path = file()
    writeFileSync(path, prefixOnly(8n, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])))
    await rejects(path, null, /header is not valid UTF-8/)
  })

  it('the header must begin with "{"', async () => {
    await rejects(writeHandMade(file(), ' {"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1)), null, /does not begin with "\{"/)
    await rejects(writeHandMade(file(), "[1, 2]"), null, /does not begin with "\{"/) // not an object
  })

  it("the header must be JSON", async () => {
    await rejects(writeHandMade(file(), "{{{{"), null, /header is not JSON/)
  })

  it("__metadata__ must map keys to strings", async () => {
    await rejects(writeHandMade(file(), { __metadata__: { format: "pt", step: 3 } }), null, /__metadata__ value "step" is not a string: 3/)
    await rejects(writeHandMade(file(), { __metadata__: ["pt"] }), null, /__metadata__ is not an object of strings/)
  })

  it("a tensor entry must be an object", async () => {
    await rejects(writeHandMade(file(), { w: [0, 4] }), "w", /header entry is not an object/)
  })

  it("the dtype must be F32, F16 or BF16", async () => {
    await rejects(writeHandMade(file(), { w: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, f32(2)), "w", /unsupported dtype "I64"/)
    await rejects(writeHandMade(file(), { w: { shape: [1], data_offsets: [0, 4] } }, f32(1)), "w", /unsupported dtype undefined/)
  })

  it("the shape must be a list of non-negative integers", async () => {
    await rejects(writeHandMade(file(), { w: { dtype: "F32", shape: [2, -1], data_offsets: [0, 8] } }, f32(2)), "w", /bad shape \[2,-1\]/)
    await rejects(writeHandMade(file(), { w: { dtype: "F32", shape: [1.5], data_offsets: [0, 8] } }, f32(2)), "w", /bad shape \[1.5\]/)
  })

  it("data_offsets must be [begin, end] with 0 <= begin <= end", async () => {
    await rejects(writeHandMade(file(), { w: { dtype: "F32", shape: [1], data_offsets: [8, 4] } }, f32(4)), "w", /bad data_offsets \[8,4\]/)
    await rejects(writeHandMade(file(), { w: { dtype: "F32", shape: [1], data_offsets: [-4, 0] } }, f32(1)), "w", /bad data_offsets/)
    await rejects(writeHandMade(file(), { w: { dtype: "F32", shape: [1] } }, f32(1)), "w", /bad data_offsets undefined/)
  })

  it("end - begin must equal prod(shape) x dtype size (and not overflow)", async () => {
    await rejects(writeHandMade(file(), { w: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, f32(4)), "w", /data_offsets \[0, 12\] hold 12 bytes, shape \[2,2\] F32 needs 16/)
    await rejects(writeHandMade(file(), { h: { dtype: "BF16", shape: [3], data_offsets: [0, 12] } }, f32(3)), "h", /BF16 needs 6/)
    await rejects(writeHandMade(file(), { w: { dtype: "F32", shape: [2 ** 30, 2 ** 30], data_offsets: [0, 4] } }, f32(1)), "w", /too large/)
  })

  it("a tensor must end inside the data section (truncated file)", async () => {
    const good = file()
    await saveSafetensors(good, { v: { shape: [2], data: f32(2) }, w: { shape: [4, 4], data: f32(16).fill(1) } })
    const path = file()
    const bytes = readFileSync(good)
    writeFileSync(path, bytes.subarray(0, bytes.length - 5))
    await rejects(path, "w", /truncated: data ends at byte 72 of the data section, which has 67 bytes/)
  })

  it("no two tensors may overlap (the same range, or part of one)", async () => {
    const same = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }
    await rejects(writeHandMade(file(), same, f32(2)), "b", /bytes \[0, 8\) overlap tensor "a" at \[0, 8\)/)
    const part = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F16", shape: [4], data_offsets: [4, 12] } }
    await rejects(writeHandMade(file(), part, f32(3)), "b", /bytes \[4, 12\) overlap tensor "a" at \[0, 8\)/)
  })

  it("no data bytes before the first tensor or between two tensors", async () => {
    const first = { a: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }
    await rejects(writeHandMade(file(), first, f32(3)), "a", /gap: data section bytes \[0, 4\) before this tensor belong to no tensor/)
    const between = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [1], data_offsets: [12, 16] } }
    await rejects(writeHandMade(file(), between, f32(4)), "b", /gap: data section bytes \[8, 12\)/)
  })

  it("no data bytes after the last tensor", async () => {
    await rejects(writeHandMade(file(), { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, f32(3)), null, /4 bytes after the last tensor belong to no tensor/)
    await rejects(writeHandMade(file(), { __metadata__: { format: "pt" } }, f32(1)), null, /4 bytes after the last tensor/)
  })

  it("the file must exist", async () => {
    const path = join(dir, "missing.safetensors")
    await rejects(path, null, /cannot open/)
  })
})
