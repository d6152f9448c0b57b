import { open, rename, writeFile, mkdir } from "node:fs/promises"
import { dirname } from "node:path"
import { SafetensorsError } from "./errors"

/**
 * Safetensors, written and read by hand (https://github.com/huggingface/safetensors):
 *   bytes 0..8      header length N, unsigned 64-bit little endian
 *   bytes 8..8+N    JSON header: { name: { dtype: "F32", shape: [...], data_offsets: [begin, end] }, ...,
 *                   "__metadata__": { key: string value } }, padded with spaces to a multiple of 8
 *   bytes 8+N..     tensor data, little-endian, row-major; offsets are relative to this point
 * Only F32 is written and read (the models here are float32). Reading goes tensor by tensor through
 * the byte ranges of the header offsets, so a file is never loaded as one buffer.
 */
export interface TensorData {
  readonly shape: readonly number[]
  readonly data: Float32Array // row-major, length = prod(shape)
}

export interface SafetensorsFile {
  readonly tensors: Map<string, TensorData>
  readonly metadata: Record<string, string>
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1)

/** Write `tensors` (in iteration order) and string `metadata`; atomic (temp file + rename). */
export async function saveSafetensors(
  path: string,
  tensors: ReadonlyMap<string, TensorData> | Readonly<Record<string, TensorData>>,
  metadata: Readonly<Record<string, string>> = {}
): Promise<void> {
  const entries: Array<[string, TensorData]> =
    tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, TensorData>)
  const header: Record<string, unknown> = {}
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new SafetensorsError({ file: path, reason: `metadata "${k}" must be a string, got ${typeof v}` })
      }
    }
    header.__metadata__ = { ...metadata }
  }
  let offset = 0
  for (const [name, t] of entries) {
    if (name === "__metadata__") throw new SafetensorsError({ file: path, tensor: name, reason: "reserved name" })
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SafetensorsError({ file: path, tensor: name, reason: `bad shape [${t.shape}]` })
    }
    if (t.data.length !== numel(t.shape)) {
      throw new SafetensorsError({
        file: path,
        tensor: name,
        reason: `data has ${t.data.length} values, shape [${t.shape}] needs ${numel(t.shape)}`
      })
    }
    const bytes = t.data.length * 4
    header[name] = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + bytes] }
    offset += bytes
  }
  let json = JSON.stringify(header)
  const jsonBytes0 = Buffer.byteLength(json, "utf8")
  json += " ".repeat((8 - (jsonBytes0 % 8)) % 8)
  const headerBuf = Buffer.from(json, "utf8")
  const out = Buffer.allocUnsafe(8 + headerBuf.length + offset)
  out.writeBigUInt64LE(BigInt(headerBuf.length), 0)
  headerBuf.copy(out, 8)
  let pos = 8 + headerBuf.length
  for (const [, t] of entries) {
    const src = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
    out.set(src, pos) // assumes a little-endian host (x86, ARM)
    pos += src.length
  }
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`
  await writeFile(tmp, out)
  await rename(tmp, path)
}

interface HeaderEntry {
  dtype: string
  shape: number[]
  data_offsets: [number, number]
}

/** Read every tensor and the metadata; errors name the file and the tensor. */
export async function loadSafetensors(path: string): Promise<SafetensorsFile> {
  let fh
  try {
    fh = await open(path, "r")
  } catch (e) {
    throw new SafetensorsError({ file: path, reason: `cannot open: ${(e as Error).message}` })
  }
  try {
    const size = (await fh.stat()).size
    if (size < 8) throw new SafetensorsError({ file: path, reason: `truncated: ${size} bytes, no header length` })
    const lenBuf = Buffer.alloc(8)
    await fh.read(lenBuf, 0, 8, 0)
    const n = lenBuf.readBigUInt64LE(0)
    if (n > BigInt(size - 8)) {
      throw new SafetensorsError({ file: path, reason: `truncated: header length ${n} exceeds file size ${size}` })
    }
    const headerLen = Number(n)
    const headerBuf = Buffer.alloc(headerLen)
    await fh.read(headerBuf, 0, headerLen, 8)
    let header: Record<string, unknown>
    try {
      header = JSON.parse(headerBuf.toString("utf8"))
    } catch (e) {
      throw new SafetensorsError({ file: path, reason: `header is not JSON: ${(e as Error).message}` })
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) {
      throw new SafetensorsError({ file: path, reason: "header is not a JSON object" })
    }
    const dataStart = 8 + headerLen
    const dataSize = size - dataStart
    const metadata: Record<string, string> = {}
    const tensors = new Map<string, TensorData>()
    for (const [name, raw] of Object.entries(header)) {
      if (name === "__metadata__") {
        for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) metadata[k] = String(v)
        continue
      }
      const e = raw as HeaderEntry
      if (e === null || typeof e !== "object") {
        throw new SafetensorsError({ file: path, tensor: name, reason: "header entry is not an object" })
      }
      if (e.dtype !== "F32") {
        throw new SafetensorsError({ file: path, tensor: name, reason: `unsupported dtype ${JSON.stringify(e.dtype)} (only F32)` })
      }
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new SafetensorsError({ file: path, tensor: name, reason: `bad shape ${JSON.stringify(e.shape)}` })
      }
      const off = e.data_offsets
      if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[1] < off[0]) {
        throw new SafetensorsError({ file: path, tensor: name, reason: `bad data_offsets ${JSON.stringify(off)}` })
      }
      const [begin, end] = off
      const count = numel(e.shape)
      if (end - begin !== count * 4) {
        throw new SafetensorsError({
          file: path,
          tensor: name,
          reason: `data_offsets [${begin}, ${end}] hold ${end - begin} bytes, shape [${e.shape}] F32 needs ${count * 4}`
        })
      }
      if (end > dataSize) {
        throw new SafetensorsError({
          file: path,
          tensor: name,
          reason: `truncated: data ends at byte ${end} of the data section, which has ${dataSize} bytes`
        })
      }
      const data = new Float32Array(count)
      const { bytesRead } = await fh.read(new Uint8Array(data.buffer), 0, count * 4, dataStart + begin)
      if (bytesRead !== count * 4) {
        throw new SafetensorsError({ file: path, tensor: name, reason: `short read: ${bytesRead} of ${count * 4} bytes` })
      }
      tensors.set(name, { shape: e.shape, data })
    }
    return { tensors, metadata }
  } finally {
    await fh.close()
  }
}
