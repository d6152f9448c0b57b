/**
 * Streaming writer. Each (checkpoint, layer, hook) has at most one open shard
 * `part-NNNNN.parquet`, written as a stream of row groups: a large batch goes straight to the
 * file as its own row group (no copy of the vectors), small batches are collected in memory until
 * they make a row group of `rowGroupBytes`. A shard is finished at `shardRows` rows, when more
 * than `maxOpenShards` are open (least recently written first) and at `close()`, which also writes
 * `index.json`.
 */
import { mkdir, readdir, rm } from "node:fs/promises"
import { join } from "node:path"
import { ParquetStreamWriter } from "@conceptscope/artifacts"
import { residPost } from "@conceptscope/core"
import { ActivationStoreError } from "./errors.js"
import { INDEX_FILE, shardFileName, writeIndex, type ActivationIndex, type ShardEntry } from "./index-file.js"
import { PendingRows, shardColumns, shardTable, type ShardKey } from "./shard-table.js"

export interface ActivationBatch {
  checkpoint: number
  layer: number // -1 = hook_embed
  hook?: string // default blocks.{layer}.hook_resid_post, or hook_embed for layer -1
  positions: Int32Array // [n]
  seqIds: Int32Array // [n]
  concepts: Int32Array // [n]
  vectors: Float32Array // [n, dModel]
}

export interface ActivationWriterOptions {
  dModel: number
  /** Rows per shard before it is split. Default: ~64 MiB of vectors per shard. */
  shardRows?: number
  /** Target size of a row group built from small batches; batches at least this big are written directly. Default 1 MiB. */
  rowGroupBytes?: number
  /** Shards open at once (one file handle each). Default 64. */
  maxOpenShards?: number
}

export const defaultHook = (layer: number): string => (layer === -1 ? "hook_embed" : residPost(layer))

/** Key/value footer entry of every shard: its (checkpoint, layer, hook) and dModel as JSON. */
export const SHARD_KV_KEY = "conceptscope.activation-store"

/** An index entry whose row count is filled in when the shard is finished. */
type PendingEntry = { -readonly [K in keyof ShardEntry]: ShardEntry[K] }

interface OpenShard {
  key: ShardKey
  entry: PendingEntry
  stream: ParquetStreamWriter
  pending: PendingRows
  lastUse: number
}

export class ActivationWriter {
  private readonly open = new Map<string, OpenShard>()
  private readonly shards: PendingEntry[] = []
  private closed = false
  private tick = 0

  private constructor(
    readonly dir: string,
    readonly dModel: number,
    readonly shardRows: number,
    readonly rowGroupRows: number,
    readonly maxOpenShards: number
  ) {}

  /** Open a writer on `dir` (created if missing; must not already hold a store). */
  static async open(dir: string, opts: ActivationWriterOptions): Promise<ActivationWriter> {
    const positiveInt = (field: string, v: number) => {
      if (!Number.isInteger(v) || v < 1) throw new ActivationStoreError({ file: dir, field, reason: `must be a positive integer, got ${v}` })
      return v
    }
    const dModel = positiveInt("dModel", opts.dModel)
    const rowBytes = 4 * dModel + 12
    const shardRows = positiveInt("shardRows", opts.shardRows ?? Math.max(1, Math.floor((64 * 1024 * 1024) / rowBytes)))
    const rowGroupRows = Math.max(1, Math.floor(positiveInt("rowGroupBytes", opts.rowGroupBytes ?? 1024 * 1024) / rowBytes))
    const maxOpenShards = positiveInt("maxOpenShards", opts.maxOpenShards ?? 64)
    await mkdir(dir, { recursive: true })
    const existing = (await readdir(dir)).filter((f) => f === INDEX_FILE || /^part-\d+\.parquet$/.test(f))
    if (existing.length > 0) throw new ActivationStoreError({ file: dir, reason: `directory already holds a store (${existing[0]})` })
    return new ActivationWriter(dir, dModel, shardRows, rowGroupRows, maxOpenShards)
  }

  private check(b: ActivationBatch): { n: number; key: ShardKey } {
    const file = this.dir
    if (this.closed) throw new ActivationStoreError({ file, reason: "write after close" })
    if (!Number.isInteger(b.checkpoint)) throw new ActivationStoreError({ file, field: "checkpoint", reason: `not an integer: ${b.checkpoint}` })
    if (!Number.isInteger(b.layer) || b.layer < -1)
      throw new ActivationStoreError({ file, field: "layer", reason: `must be an integer >= -1, got ${b.layer}` })
    const n = b.positions.length
    for (const [field, len] of [["seqIds", b.seqIds.length], ["concepts", b.concepts.length]] as const)
      if (len !== n) throw new ActivationStoreError({ file, field, reason: `length ${len} differs from positions (${n})` })
    if (b.vectors.length !== n * this.dModel)
      throw new ActivationStoreError({ file, field: "vectors", reason: `length ${b.vectors.length}, expected ${n} x ${this.dModel}` })
    return { n, key: { checkpoint: b.checkpoint, layer: b.layer, hook: b.hook ?? defaultHook(b.layer) } }
  }

  private async shardFor(key: ShardKey, id: string): Promise<OpenShard> {
    const found = this.open.get(id)
    if (found) return found
    if (this.open.size >= this.maxOpenShards) {
      let oldest: string | undefined
      for (const [k, s] of this.open) if (oldest === undefined || s.lastUse < this.open.get(oldest)!.lastUse) oldest = k
      await this.finish(oldest!)
    }
    const file = shardFileName(this.shards.length)
    const entry: PendingEntry = { file, checkpoint: key.checkpoint, layer: key.layer, hook: key.hook, rows: 0 }
    this.shards.push(entry) // file order = creation order, so a key's rows stay in write order across shards
    const kvMetadata = { [SHARD_KV_KEY]: JSON.stringify({ ...key, dModel: this.dModel }) }
    const stream = await ParquetStreamWriter.open(join(this.dir, file), shardColumns(this.dModel), { kvMetadata })
    const shard: OpenShard = { key, entry, stream, pending: new PendingRows(this.dModel, Math.min(this.rowGroupRows, this.shardRows)), lastUse: 0 }
    this.open.set(id, shard)
    return shard
  }

  private async flushPending(s: OpenShard): Promise<void> {
    if (s.pending.rows === 0) return
    await s.stream.writeRowGroup(s.pending.table(s.key))
    s.pending.rows = 0
  }

  private async finish(id: string): Promise<void> {
    const s = this.open.get(id)
    if (!s) return
    this.open.delete(id)
    await this.flushPending(s)
    await s.stream.close()
    s.entry.rows = s.stream.numRows
  }

  /** Write a batch: large batches go to disk now, small ones are buffered (copied). */
  async write(batch: ActivationBatch): Promise<void> {
    const { n, key } = this.check(batch)
    const id = `${key.checkpoint}\u0000${key.layer}\u0000${key.hook}`
    const d = this.dModel
    let from = 0
    while (from < n) {
      const s = await this.shardFor(key, id)
      s.lastUse = ++this.tick
      const room = this.shardRows - s.stream.numRows - s.pending.rows
      let to = from + Math.min(n - from, room)
      if (to - from >= this.rowGroupRows) {
        await this.flushPending(s)
        const sub = <T extends Int32Array | Float32Array>(a: T, w: number) => a.subarray(from * w, to * w) as T
        await s.stream.writeRowGroup(
          shardTable(key, d, to - from, sub(batch.positions, 1), sub(batch.seqIds, 1), sub(batch.concepts, 1), sub(batch.vectors, d))
        )
      } else {
        to = Math.min(to, from + this.rowGroupRows - s.pending.rows)
        s.pending.append(batch.positions, batch.seqIds, batch.concepts, batch.vectors, from, to)
        if (s.pending.rows >= this.rowGroupRows) await this.flushPending(s)
      }
      from = to
      if (s.stream.numRows + s.pending.rows >= this.shardRows) await this.finish(id)
    }
  }

  /** Finish every open shard and write index.json. */
  async close(): Promise<ActivationIndex> {
    if (this.closed) throw new ActivationStoreError({ file: this.dir, reason: "closed twice" })
    this.closed = true
    for (const id of [...this.open.keys()]) await this.finish(id)
    const shards = this.shards // every shard got at least one row: one is opened only for rows to write
    const index: ActivationIndex = { version: 1, dModel: this.dModel, rows: shards.reduce((a, s) => a + s.rows, 0), shards }
    await writeIndex(this.dir, index)
    return index
  }

  /** Stop without an index: close and delete every shard this writer created. */
  async abort(): Promise<void> {
    this.closed = true
    for (const s of this.open.values()) await s.stream.abort()
    this.open.clear()
    for (const e of this.shards) await rm(join(this.dir, e.file), { force: true })
  }
}
