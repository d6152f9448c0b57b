/**
 * Columnar view of a batch, one row per sequence, for a Parquet table:
 *   seq_id int32, basis int32, x float32[K*D] (row-major [K, D]), y float32[K], w float32[D].
 * Vector columns are fixed-size lists (Arrow FixedSizeList) of `listSize` float32 values; their
 * `data` is the flat row-major [numRows, listSize] array. The arrays are shared with the batch,
 * not copied.
 */
import { InvalidRequest } from "./errors.js"
import type { RegressionBatch } from "./sampling.js"

export type RowColumn =
  | { readonly name: string; readonly type: "int32"; readonly data: Int32Array /* [numRows] */ }
  | {
      readonly name: string
      readonly type: "float32"
      readonly listSize: number
      readonly data: Float32Array /* [numRows, listSize] */
    }

export interface RegressionRows {
  readonly numRows: number
  readonly K: number
  readonly D: number
  /** In table order: seq_id, basis, x, y, w. */
  readonly columns: readonly RowColumn[]
}

export function toRows(batch: RegressionBatch): RegressionRows {
  const { n, K, D } = batch
  return {
    numRows: n,
    K,
    D,
    columns: [
      { name: "seq_id", type: "int32", data: batch.seqIds },
      { name: "basis", type: "int32", data: batch.basis },
      { name: "x", type: "float32", listSize: K * D, data: batch.xs },
      { name: "y", type: "float32", listSize: K, data: batch.ys },
      { name: "w", type: "float32", listSize: D, data: batch.ws }
    ]
  }
}

/** The inverse of `toRows` (e.g. after reading the table back). Checks names, types and sizes. */
export function fromRows(rows: RegressionRows): RegressionBatch {
  const { numRows: n, K, D } = rows
  const get = <T extends RowColumn["type"]>(name: string, type: T, listSize: number) => {
    const col = rows.columns.find((c) => c.name === name)
    if (!col) throw new InvalidRequest({ field: name, reason: "column missing" })
    if (col.type !== type) throw new InvalidRequest({ field: name, reason: `expected ${type}, got ${col.type}` })
    if (col.data.length !== n * listSize)
      throw new InvalidRequest({
        field: name,
        reason: `expected ${n} x ${listSize} values, got ${col.data.length}`
      })
    return col.data
  }
  return {
    n,
    K,
    D,
    seqIds: get("seq_id", "int32", 1) as Int32Array,
    basis: get("basis", "int32", 1) as Int32Array,
    xs: get("x", "float32", K * D) as Float32Array,
    ys: get("y", "float32", K) as Float32Array,
    ws: get("w", "float32", D) as Float32Array
  }
}
