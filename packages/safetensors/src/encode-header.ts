import { BYTES_PER_ELEMENT, type Dtype, isDtype } from "./dtypes.js"
import { SafetensorsError } from "./errors.js"

/**
 * The bytes that precede the data section, for tensors stored back to back in the given order:
 *   8-byte little-endian N, then N bytes of JSON padded with spaces to a multiple of 8.
 * The JSON is JSON.stringify of one object built as
 *   { "__metadata__": { ...metadata } (only when metadata has a key), name: { dtype, shape, data_offsets }, ... }
 * so key order is JavaScript's property order (integer-like names first, then insertion order).
 */
export interface TensorPlan {
  readonly name: string
  readonly shape: readonly number[]
  readonly dtype: Dtype
}

export const tensorByteLength = (t: Pick<TensorPlan, "shape" | "dtype">): number =>
  t.shape.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[t.dtype]

export interface EncodedHeader {
  /** Length prefix + padded JSON. */
  readonly bytes: Buffer
  /** Bytes of the data section that follows. */
  readonly dataBytes: number
}

/** Checks names, dtypes, shapes and metadata (errors name `file` and the tensor), then encodes the header. */
export function encodeHeader(file: string, tensors: readonly TensorPlan[], metadata: Readonly<Record<string, string>> = {}): EncodedHeader {
  const header: Record<string, unknown> = Object.create(null)
  const keys = Object.keys(metadata)
  if (keys.length > 0) {
    const meta: Record<string, string> = Object.create(null)
    for (const k of keys) {
      const v = metadata[k]
      if (typeof v !== "string") throw new SafetensorsError({ file, reason: `metadata "${k}" must be a string, got ${typeof v}` })
      meta[k] = v
    }
    header.__metadata__ = meta
  }
  let offset = 0
  for (const t of tensors) {
    const bad = (reason: string) => new SafetensorsError({ file, tensor: t.name, reason })
    if (t.name === "__metadata__") throw bad("reserved name")
    if (Object.prototype.hasOwnProperty.call(header, t.name)) throw bad("tensor name given twice")
    if (!isDtype(t.dtype)) throw bad(`unsupported dtype ${JSON.stringify(t.dtype)} (F32, F16 and BF16 are written)`)
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`bad shape [${t.shape}]`)
    const bytes = tensorByteLength(t)
    if (!Number.isSafeInteger(offset + bytes)) throw bad(`shape [${t.shape}] is too large (byte offsets overflow)`)
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] }
    offset += bytes
  }
  const json = JSON.stringify(header)
  const padded = json + " ".repeat((8 - (Buffer.byteLength(json, "utf8") % 8)) % 8)
  const body = Buffer.from(padded, "utf8")
  const bytes = Buffer.alloc(8 + body.length)
  bytes.writeBigUInt64LE(BigInt(body.length), 0)
  body.copy(bytes, 8)
  return { bytes, dataBytes: offset }
}
