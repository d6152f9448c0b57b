import * as fs from "node:fs"
import { BYTES_PER_ELEMENT, type Dtype, decodeInto } from "./dtypes.js"
import { SafetensorsError } from "./errors.js"
import { checkHeaderLength, parseHeader } from "./parse-header.js"

/**
 * Lazy safetensors reader: opens the file, reads and validates the header once (parse-header.ts), then
 * reads one tensor at a time by its byte range, never the whole file. F32, F16 and BF16 are returned as
 * float32, row-major.
 */
export interface TensorInfo {
  readonly dtype: Dtype
  readonly shape: readonly number[]
  /** Absolute byte offsets in the file; end exclusive. */
  readonly begin: number
  readonly end: number
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1)
const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]

/** Values converted per read: at most 8 MB of float32 (or 4 MB of 16-bit data) in flight. */
const CHUNK = 2 ** 21

export class SafetensorsReader {
  private constructor(
    readonly file: string,
    private fd: number | null,
    /** Tensors in header order. */
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>
  ) {}

  /** Open `file` and validate its header; throws SafetensorsError naming the file (and the tensor at fault). */
  static open(file: string): SafetensorsReader {
    let fd: number
    try {
      fd = fs.openSync(file, "r")
    } catch (e) {
      throw new SafetensorsError({ file, reason: `cannot open: ${firstLine(e)}` })
    }
    try {
      const size = fs.fstatSync(fd).size
      const prefix = size >= 8 ? readExactly(file, fd, Buffer.alloc(8), 0) : null
      const n = checkHeaderLength(file, size, prefix)
      const parsed = parseHeader(file, readExactly(file, fd, Buffer.alloc(n), 8), size - 8 - n)
      const tensors = new Map<string, TensorInfo>()
      for (const [name, t] of parsed.tensors) tensors.set(name, { dtype: t.dtype, shape: t.shape, begin: 8 + n + t.begin, end: 8 + n + t.end })
      return new SafetensorsReader(file, fd, tensors, parsed.metadata)
    } catch (e) {
      fs.closeSync(fd)
      throw e
    }
  }

  has(name: string): boolean {
    return this.tensors.has(name)
  }

  /** The tensor as float32, row-major (length prod(shape)). */
  read(name: string): Float32Array {
    return this.readInto(name, new Float32Array(numel(this.info(name).shape)))
  }

  /**
   * Read the tensor into `out` (float32, row-major, e.g. a view of tensor memory), converting from the
   * stored dtype in chunks, so no second copy of the whole tensor is made. F32 is read straight into `out`.
   */
  readInto(name: string, out: Float32Array): Float32Array {
    const info = this.info(name)
    if (this.fd === null) throw new SafetensorsError({ file: this.file, tensor: name, reason: "reader is closed" })
    const width = BYTES_PER_ELEMENT[info.dtype]
    const n = (info.end - info.begin) / width
    if (out.length !== n) throw new SafetensorsError({ file: this.file, tensor: name, reason: `destination holds ${out.length} values, the tensor ${n}` })
    const scratch = info.dtype === "F32" ? null : Buffer.allocUnsafe(Math.min(n, CHUNK) * width)
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start)
      const target = scratch ? scratch.subarray(0, count * width) : new Uint8Array(out.buffer, out.byteOffset + start * 4, count * 4)
      readExactly(this.file, this.fd, target, info.begin + start * width, name)
      if (scratch) decodeInto(target, info.dtype, out.subarray(start, start + count))
    }
    return out
  }

  /**
   * Rows `rows` of a 2-D tensor [n, cols] into `out` [rows.length, cols] (float32, in the order given),
   * one read per row: a few rows of a large embedding without reading the rest.
   */
  readRowsInto(name: string, rows: ArrayLike<number>, out: Float32Array): Float32Array {
    const info = this.info(name)
    if (this.fd === null) throw new SafetensorsError({ file: this.file, tensor: name, reason: "reader is closed" })
    if (info.shape.length !== 2) throw new SafetensorsError({ file: this.file, tensor: name, reason: `rows of a ${info.shape.length}-D tensor` })
    const [n, cols] = info.shape
    const width = BYTES_PER_ELEMENT[info.dtype]
    if (out.length !== rows.length * cols) throw new SafetensorsError({ file: this.file, tensor: name, reason: `destination holds ${out.length} values, ${rows.length} rows ${rows.length * cols}` })
    const scratch = info.dtype === "F32" ? null : Buffer.allocUnsafe(cols * width)
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]
      if (!Number.isInteger(row) || row < 0 || row >= n) throw new SafetensorsError({ file: this.file, tensor: name, reason: `row ${row} outside 0..${n - 1}` })
      const target = scratch ?? new Uint8Array(out.buffer, out.byteOffset + r * cols * 4, cols * 4)
      readExactly(this.file, this.fd, target, info.begin + row * cols * width, name)
      if (scratch) decodeInto(scratch, info.dtype, out.subarray(r * cols, (r + 1) * cols))
    }
    return out
  }

  /** The open file descriptor (for readers on other threads, which read by position and never close it). */
  descriptor(): number {
    if (this.fd === null) throw new SafetensorsError({ file: this.file, reason: "reader is closed" })
    return this.fd
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

/** Fill `target` from `position` on; a short file is a SafetensorsError naming the file (and tensor). */
function readExactly<T extends Uint8Array>(file: string, fd: number, target: T, position: number, tensor?: string): T {
  let done = 0
  while (done < target.length) {
    let r: number
    try {
      r = fs.readSync(fd, target, done, target.length - done, position + done)
    } catch (e) {
      throw new SafetensorsError({ file, tensor, reason: `cannot read: ${firstLine(e)}` })
    }
    if (r === 0) throw new SafetensorsError({ file, tensor, reason: `short read: ${done} of ${target.length} bytes at byte ${position}` })
    done += r
  }
  return target
}
