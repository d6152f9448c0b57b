import { join } from "node:path"
import { writeAtomically, writeAll } from "./atomic-file.js"
import { tensorByteLength, type TensorPlan } from "./encode-header.js"
import { SafetensorsError } from "./errors.js"
import { type TensorValues, writeSafetensors } from "./writer.js"

/**
 * Sharded checkpoints as transformers' save_pretrained writes them:
 *   one shard      model.safetensors, no index
 *   N > 1 shards   model-00001-of-0000N.safetensors ... model-0000N-of-0000N.safetensors, plus
 *                  model.safetensors.index.json = { "metadata": { "total_size": T }, "weight_map": { name: shard file } }
 *                  (2-space indented JSON and a final newline; weight_map sorted by tensor name; T the sum of
 *                  tensor bytes, not of file sizes)
 */
export const SINGLE_FILE = "model.safetensors"
export const INDEX_FILE = "model.safetensors.index.json"

export interface ShardIndex {
  readonly metadata: { readonly total_size: number }
  readonly weight_map: Readonly<Record<string, string>>
}

/** Shard file name, 1-based: model-00002-of-00003.safetensors. */
export function shardFileName(i: number, n: number): string {
  const pad = (k: number) => String(k).padStart(5, "0")
  return `model-${pad(i)}-of-${pad(n)}.safetensors`
}

/**
 * Splits `tensors` (kept in order) into `n` non-empty contiguous shards of roughly equal bytes: a shard
 * closes once the running total passes its share, or when each remaining tensor must open a shard.
 */
export function planShards<T extends TensorPlan>(tensors: readonly T[], n: number): T[][] {
  const bad = (reason: string) => new SafetensorsError({ file: INDEX_FILE, reason })
  if (!Number.isInteger(n) || n < 1) throw bad(`shards must be a positive integer, got ${n}`)
  if (n > tensors.length) throw bad(`${n} shards asked for ${tensors.length} tensors`)
  const total = tensors.reduce((s, t) => s + tensorByteLength(t), 0)
  const shards: T[][] = [[]]
  let cum = 0
  tensors.forEach((t, i) => {
    shards[shards.length - 1].push(t)
    cum += tensorByteLength(t)
    const s = shards.length - 1 // index of the open shard
    const remainingTensors = tensors.length - 1 - i
    const shardsStillToOpen = n - 1 - s
    if (shardsStillToOpen > 0 && (cum >= (total * (s + 1)) / n || remainingTensors === shardsStillToOpen)) shards.push([])
  })
  return shards
}

/** The index for `shards` written under shardFileName(i + 1, shards.length). */
export function shardIndex(shards: readonly (readonly TensorPlan[])[]): ShardIndex {
  const entries: Array<[string, string]> = []
  let total = 0
  shards.forEach((shard, i) => {
    for (const t of shard) {
      entries.push([t.name, shardFileName(i + 1, shards.length)])
      total += tensorByteLength(t)
    }
  })
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return { metadata: { total_size: total }, weight_map: Object.fromEntries(entries) }
}

export interface ShardedWriteOptions {
  /** `__metadata__` of every shard file. */
  readonly metadata?: Readonly<Record<string, string>>
  /** Called after each file is written (shards in order, then the index). */
  readonly onFile?: (path: string, bytes: number) => void
}

/**
 * Writes `shards` into `dir` (see the layout above), each file atomically; `values` is asked for one
 * tensor at a time across all shards. Returns the files written, in order, with their sizes.
 */
export async function writeShardedSafetensors<T extends TensorPlan>(
  dir: string,
  shards: readonly (readonly T[])[],
  values: TensorValues<T>,
  opts: ShardedWriteOptions = {}
): Promise<Array<{ path: string; bytes: number }>> {
  const indexPath = join(dir, INDEX_FILE)
  if (shards.length === 0) throw new SafetensorsError({ file: indexPath, reason: "no shards to write" })
  const seen = new Set<string>()
  for (const shard of shards) {
    if (shard.length === 0 && shards.length > 1) throw new SafetensorsError({ file: indexPath, reason: "a shard holds no tensor" })
    for (const t of shard) {
      if (seen.has(t.name)) throw new SafetensorsError({ file: indexPath, tensor: t.name, reason: "tensor in two shards" })
      seen.add(t.name)
    }
  }
  const files: Array<{ path: string; bytes: number }> = []
  const done = (path: string, bytes: number) => {
    files.push({ path, bytes })
    opts.onFile?.(path, bytes)
  }
  let index = 0
  for (let i = 0; i < shards.length; i++) {
    const path = join(dir, shards.length === 1 ? SINGLE_FILE : shardFileName(i + 1, shards.length))
    const base = index
    done(path, await writeSafetensors(path, shards[i], (t, k) => values(t, base + k), opts.metadata))
    index += shards[i].length
  }
  if (shards.length > 1) {
    const text = Buffer.from(JSON.stringify(shardIndex(shards), null, 2) + "\n", "utf8")
    done(indexPath, await writeAtomically(indexPath, (fh) => writeAll(indexPath, fh, text)))
  }
  return files
}
