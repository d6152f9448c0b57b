/**
 * Safetensors writing, streamed tensor by tensor (a 100M-parameter checkpoint never sits in memory whole):
 *   bytes 0..8      header length N, u64 little endian
 *   bytes 8..8+N    JSON { "__metadata__": {"format": "pt"}, name: { dtype, shape, data_offsets: [b, e] } },
 *                   padded with spaces to a multiple of 8
 *   bytes 8+N..     tensor data, row-major, little endian, offsets relative to this point
 * Sharded checkpoints follow transformers' save_pretrained: model-00001-of-0000N.safetensors files plus
 * model.safetensors.index.json = { metadata: { total_size }, weight_map: { tensor name: file name } },
 * total_size being the sum of tensor bytes (not of file sizes).
 */
import { open } from "node:fs/promises"
import { BYTES_PER_ELEMENT, type Dtype, encode, SAFETENSORS_DTYPE } from "./dtypes"

export interface PlannedTensor {
  readonly name: string
  readonly shape: readonly number[]
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)
export const tensorBytes = (t: PlannedTensor, dtype: Dtype): number => numel(t.shape) * BYTES_PER_ELEMENT[dtype]

/** The header bytes (JSON padded with spaces to a multiple of 8) for `tensors` stored back to back. */
export function headerBytes(tensors: readonly PlannedTensor[], dtype: Dtype): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } }
  let offset = 0
  for (const t of tensors) {
    if (t.name === "__metadata__" || t.name in header) throw new Error(`duplicate or reserved tensor name ${t.name}`)
    if (!t.shape.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`tensor ${t.name}: bad shape [${t.shape}]`)
    const bytes = tensorBytes(t, dtype)
    header[t.name] = { dtype: SAFETENSORS_DTYPE[dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes] }
    offset += bytes
  }
  const json = JSON.stringify(header) // ASCII: tensor names are ASCII, so chars = bytes
  return Buffer.from(json + " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8), "utf8")
}

/**
 * Writes one safetensors file; `values(t)` yields the float32 values of tensor t (length numel(shape)),
 * converted to `dtype` here. Returns the file size in bytes.
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly PlannedTensor[],
  dtype: Dtype,
  values: (t: PlannedTensor) => Float32Array
): Promise<number> {
  const header = headerBytes(tensors, dtype)
  const prefix = Buffer.alloc(8)
  prefix.writeBigUInt64LE(BigInt(header.length), 0)
  const fh = await open(path, "w")
  let size = 0
  try {
    await fh.write(prefix)
    await fh.write(header)
    size = 8 + header.length
    for (const t of tensors) {
      const v = values(t)
      if (v.length !== numel(t.shape)) throw new Error(`tensor ${t.name}: ${v.length} values for shape [${t.shape}]`)
      const bytes = encode(v, dtype) // little-endian host assumed (x86, ARM)
      await fh.write(bytes)
      size += bytes.length
    }
  } finally {
    await fh.close()
  }
  return size
}

/** HF shard file name, 1-based: model-00002-of-00003.safetensors. */
export function shardFileName(i: number, n: number): string {
  const pad = (k: number) => String(k).padStart(5, "0")
  return `model-${pad(i)}-of-${pad(n)}.safetensors`
}

/**
 * Splits `tensors` (kept in order) into `n` non-empty contiguous shards of roughly equal bytes: a shard
 * closes once the running total passes its share, or when each remaining tensor must open a shard.
 */
export function planShards(tensors: readonly PlannedTensor[], dtype: Dtype, n: number): PlannedTensor[][] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`shards must be a positive integer, got ${n}`)
  if (n > tensors.length) throw new Error(`${n} shards asked for ${tensors.length} tensors`)
  const total = tensors.reduce((s, t) => s + tensorBytes(t, dtype), 0)
  const shards: PlannedTensor[][] = [[]]
  let cum = 0
  tensors.forEach((t, i) => {
    shards[shards.length - 1].push(t)
    cum += tensorBytes(t, dtype)
    const s = shards.length - 1 // index of the open shard
    const remainingTensors = tensors.length - 1 - i
    const shardsStillToOpen = n - 1 - s
    if (shardsStillToOpen > 0 && (cum >= (total * (s + 1)) / n || remainingTensors === shardsStillToOpen)) {
      shards.push([])
    }
  })
  return shards
}

/** model.safetensors.index.json contents for `shards` (weight_map sorted by tensor name, as HF writes it). */
export function shardIndex(shards: readonly (readonly PlannedTensor[])[], dtype: Dtype): {
  metadata: { total_size: number }
  weight_map: Record<string, string>
} {
  const entries: Array<[string, string]> = []
  let total = 0
  shards.forEach((shard, i) => {
    for (const t of shard) {
      entries.push([t.name, shardFileName(i + 1, shards.length)])
      total += tensorBytes(t, dtype)
    }
  })
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return { metadata: { total_size: total }, weight_map: Object.fromEntries(entries) }
}
