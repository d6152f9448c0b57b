/** Column layout of a shard and the small in-memory buffer that collects small batches. */
import type { ColumnInfo, Table } from "@conceptscope/artifacts"

export interface ShardKey {
  checkpoint: number
  layer: number // -1 = hook_embed
  hook: string
}

/** Shard columns, in file order. */
export const shardColumns = (dModel: number): ColumnInfo[] => [
  { name: "checkpoint", type: "int32" },
  { name: "layer", type: "int32" },
  { name: "hook", type: "string" },
  { name: "position", type: "int32" },
  { name: "seq_id", type: "int32" },
  { name: "concept", type: "int32" },
  { name: "vector", type: "vector", dim: dModel }
]

/** A row group of `n` rows for one key; arrays are used as given (views, no copy). */
export function shardTable(
  key: ShardKey,
  dModel: number,
  n: number,
  positions: Int32Array, // [n]
  seqIds: Int32Array, // [n]
  concepts: Int32Array, // [n]
  vectors: Float32Array // [n, dModel]
): Table {
  return {
    numRows: n,
    columns: [
      { name: "checkpoint", type: "int32", data: new Int32Array(n).fill(key.checkpoint) },
      { name: "layer", type: "int32", data: new Int32Array(n).fill(key.layer) },
      { name: "hook", type: "string", data: new Array<string>(n).fill(key.hook) },
      { name: "position", type: "int32", data: positions },
      { name: "seq_id", type: "int32", data: seqIds },
      { name: "concept", type: "int32", data: concepts },
      { name: "vector", type: "vector", dim: dModel, data: vectors }
    ]
  }
}

/**
 * Rows not yet written, at most `capacity` of them. The arrays are allocated on first use and
 * reused after each flush, so steady-state buffering touches no fresh memory.
 */
export class PendingRows {
  rows = 0
  positions = new Int32Array(0) // [capacity]
  seqIds = new Int32Array(0) // [capacity]
  concepts = new Int32Array(0) // [capacity]
  vectors = new Float32Array(0) // [capacity, dModel]

  constructor(
    readonly dModel: number,
    readonly capacity: number
  ) {}

  /** Copy rows [from, to) of the given arrays in. */
  append(positions: Int32Array, seqIds: Int32Array, concepts: Int32Array, vectors: Float32Array, from: number, to: number): void {
    const k = to - from
    if (this.rows + k > this.capacity) throw new RangeError(`PendingRows: ${this.rows} + ${k} rows exceed capacity ${this.capacity}`)
    if (this.positions.length === 0) {
      this.positions = new Int32Array(this.capacity)
      this.seqIds = new Int32Array(this.capacity)
      this.concepts = new Int32Array(this.capacity)
      this.vectors = new Float32Array(this.capacity * this.dModel)
    }
    const d = this.dModel
    this.positions.set(positions.subarray(from, to), this.rows)
    this.seqIds.set(seqIds.subarray(from, to), this.rows)
    this.concepts.set(concepts.subarray(from, to), this.rows)
    this.vectors.set(vectors.subarray(from * d, to * d), this.rows * d)
    this.rows += k
  }

  table(key: ShardKey): Table {
    const n = this.rows
    const d = this.dModel
    return shardTable(key, d, n, this.positions.subarray(0, n), this.seqIds.subarray(0, n), this.concepts.subarray(0, n), this.vectors.subarray(0, n * d))
  }
}
