import * as fs from "node:fs"
import { SafetensorsError } from "./errors"

/**
 * Lazy safetensors reader: parses and checks the header once, then reads one tensor at a time by its
 * byte range (never the whole file). Dtypes F32, F16 and BF16 are converted to float32.
 * Every error is one line naming the file and, where there is one, the tensor.
 */
export type Dtype = "F32" | "F16" | "BF16"
const BYTES: Record<Dtype, number> = { F32: 4, F16: 2, BF16: 2 }

export interface TensorInfo {
  readonly dtype: Dtype
  readonly shape: readonly number[]
  /** Absolute byte offsets in the file. */
  readonly begin: number
  readonly end: number
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1)

/** float16 bits -> float32 value. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1
  const e = (h >> 10) & 0x1f
  const m = h & 0x3ff
  if (e === 0) return s * m * 2 ** -24
  if (e === 31) return m ? NaN : s * Infinity
  return s * (1 + m / 1024) * 2 ** (e - 15)
}

export class SafetensorsReader {
  private constructor(
    readonly file: string,
    private fd: number | null,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>
  ) {}

  /** Open and validate the header (offsets inside the file, sizes matching shapes and dtypes). */
  static open(file: string): SafetensorsReader {
    let fd: number
    try {
      fd = fs.openSync(file, "r")
    } catch (e) {
      throw new SafetensorsError({ file, reason: `cannot open: ${(e as Error).message.split("\n")[0]}` })
    }
    try {
      const size = fs.fstatSync(fd).size
      if (size < 8) throw new SafetensorsError({ file, reason: `truncated: ${size} bytes, no header length` })
      const lenBuf = Buffer.alloc(8)
      fs.readSync(fd, lenBuf, 0, 8, 0)
      const n = lenBuf.readBigUInt64LE(0)
      if (n > BigInt(size - 8)) throw new SafetensorsError({ file, reason: `truncated: header length ${n} exceeds file size ${size}` })
      const headerBuf = Buffer.alloc(Number(n))
      fs.readSync(fd, headerBuf, 0, headerBuf.length, 8)
      let header: unknown
      try {
        header = JSON.parse(headerBuf.toString("utf8"))
      } catch (e) {
        throw new SafetensorsError({ file, reason: `header is not JSON: ${(e as Error).message}` })
      }
      if (typeof header !== "object" || header === null || Array.isArray(header)) throw new SafetensorsError({ file, reason: "header is not a JSON object" })
      const dataStart = 8 + headerBuf.length
      const dataSize = size - dataStart
      const tensors = new Map<string, TensorInfo>()
      const metadata: Record<string, string> = {}
      for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
        if (name === "__metadata__") {
          for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) metadata[k] = String(v)
          continue
        }
        const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
        const bad = (reason: string) => new SafetensorsError({ file, tensor: name, reason })
        if (e === null || typeof e !== "object") throw bad("header entry is not an object")
        if (typeof e.dtype !== "string" || !(e.dtype in BYTES)) throw bad(`unsupported dtype ${JSON.stringify(e.dtype)} (F32, F16 and BF16 are read)`)
        const dtype = e.dtype as Dtype
        if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`bad shape ${JSON.stringify(e.shape)}`)
        const off = e.data_offsets
        if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[1] < off[0]) {
          throw bad(`bad data_offsets ${JSON.stringify(off)}`)
        }
        const [b, en] = off as [number, number]
        const need = numel(e.shape as number[]) * BYTES[dtype]
        if (en - b !== need) throw bad(`data_offsets [${b}, ${en}] hold ${en - b} bytes, shape [${e.shape}] ${dtype} needs ${need}`)
        if (en > dataSize) throw bad(`truncated: data ends at byte ${en} of the data section, which has ${dataSize} bytes`)
        tensors.set(name, { dtype, shape: e.shape as number[], begin: dataStart + b, end: dataStart + en })
      }
      return new SafetensorsReader(file, fd, tensors, metadata)
    } catch (e) {
      fs.closeSync(fd)
      throw e
    }
  }

  has(name: string): boolean {
    return this.tensors.has(name)
  }

  /** The tensor as float32, row-major. */
  read(name: string): Float32Array {
    return this.readInto(name, new Float32Array(numel(this.info(name).shape)))
  }

  /**
   * Read the tensor into `out` (float32, row-major, e.g. a view of tensor memory), converting from the
   * stored dtype in chunks of at most 8 MB, so no second copy of the whole tensor is made.
   */
  readInto(name: string, out: Float32Array): Float32Array {
    const info = this.info(name)
    if (this.fd === null) throw new SafetensorsError({ file: this.file, tensor: name, reason: "reader is closed" })
    const width = BYTES[info.dtype]
    const n = (info.end - info.begin) / width
    if (out.length !== n) throw new SafetensorsError({ file: this.file, tensor: name, reason: `destination holds ${out.length} values, the tensor ${n}` })
    const CHUNK = 2 ** 21 // values per read
    const buf = info.dtype === "F32" ? null : Buffer.allocUnsafe(Math.min(n, CHUNK) * width)
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start)
      const target = buf ?? new Uint8Array(out.buffer, out.byteOffset + start * 4, count * 4) // F32: straight into out
      let done = 0
      while (done < count * width) {
        const r = fs.readSync(this.fd, target, done, count * width - done, info.begin + start * width + done)
        if (r === 0) throw new SafetensorsError({ file: this.file, tensor: name, reason: `short read: ${start * width + done} of ${n * width} bytes` })
        done += r
      }
      if (!buf) continue
      if (info.dtype === "BF16") {
        const bits = new Uint32Array(out.buffer, out.byteOffset + start * 4, count)
        for (let i = 0; i < count; i++) bits[i] = buf.readUInt16LE(2 * i) << 16
      } else {
        for (let i = 0; i < count; i++) out[start + i] = halfToFloat(buf.readUInt16LE(2 * i))
      }
    }
    return out
  }

  private info(name: string): TensorInfo {
    const info = this.tensors.get(name)
    if (!info) throw new SafetensorsError({ file: this.file, tensor: name, reason: "no such tensor" })
    return info
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd)
    this.fd = null
  }
}
