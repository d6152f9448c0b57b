import { type ArtifactRef, getColumn, type Table } from "@conceptscope/artifacts"
import type { RegressionBatch } from "@conceptscope/task-generators"
import { readArtifactTable } from "./io.js"

/** A set of regression sequences in `data.parquet`, one row per sequence: seq_id int32, basis int32, x vector [K*D], y vector [K], w vector [D]. */

export function batchToTable(b: RegressionBatch): Table {
  return {
    numRows: b.n,
    columns: [
      { name: "seq_id", type: "int32", data: b.seqIds },
      { name: "basis", type: "int32", data: b.basis },
      { name: "x", type: "vector", dim: b.K * b.D, data: b.xs },
      { name: "y", type: "vector", dim: b.K, data: b.ys },
      { name: "w", type: "vector", dim: b.D, data: b.ws }
    ]
  }
}

/** Read a dataset artifact back into a RegressionBatch. */
export const readDataset = (ref: ArtifactRef) =>
  readArtifactTable(ref, "data.parquet", (t, file): RegressionBatch => {
    const y = getColumn(t, "y", "vector", file)
    const w = getColumn(t, "w", "vector", file)
    return {
      n: t.numRows,
      K: y.dim,
      D: w.dim,
      seqIds: getColumn(t, "seq_id", "int32", file).data,
      basis: getColumn(t, "basis", "int32", file).data,
      xs: getColumn(t, "x", "vector", file).data,
      ys: y.data,
      ws: w.data
    }
  })

/** Rows of one basis, as a smaller batch (copies). */
export function selectBasis(b: RegressionBatch, basis: number, limit = Infinity): RegressionBatch {
  const idx: number[] = []
  for (let i = 0; i < b.n && idx.length < limit; i++) if (b.basis[i] === basis) idx.push(i)
  const { K, D } = b
  const xs = new Float32Array(idx.length * K * D)
  const ys = new Float32Array(idx.length * K)
  const ws = new Float32Array(idx.length * D)
  idx.forEach((i, j) => {
    xs.set(b.xs.subarray(i * K * D, (i + 1) * K * D), j * K * D)
    ys.set(b.ys.subarray(i * K, (i + 1) * K), j * K)
    ws.set(b.ws.subarray(i * D, (i + 1) * D), j * D)
  })
  return {
    n: idx.length, K, D, xs, ys, ws,
    seqIds: Int32Array.from(idx, (i) => b.seqIds[i]),
    basis: Int32Array.from(idx, () => basis)
  }
}
