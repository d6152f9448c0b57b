import { writeParquetFile, readParquetFile, readParquetSchema } from "/work/main/packages/artifacts/src/parquet"
const n = 5, dim = 3
const vec = new Float32Array(n * dim).map((_, i) => i * 0.5)
await writeParquetFile("/tmp/pq/a.parquet", { numRows: n, columns: [
  { name: "i", type: "int32", data: new Int32Array([1, -2, 3, 4, 5]) },
  { name: "b", type: "int64", data: new BigInt64Array([1n, 2n ** 60n, -3n, 4n, 5n]) },
  { name: "f", type: "float32", data: new Float32Array([1, NaN, 3, 4, 5]) },
  { name: "d", type: "float64", data: new Float64Array([1, 2, -3, 4, 5]) },
  { name: "t", type: "bool", data: new Uint8Array([1, 0, 1, 1, 0]) },
  { name: "s", type: "string", data: ["a", "héllo", "", "日本", "x"] },
  { name: "v", type: "vector", dim, data: vec },
] }, { rowGroupRows: 2, kvMetadata: { foo: "bar" } })
console.log(await readParquetSchema("/tmp/pq/a.parquet"))
console.log(await readParquetFile("/tmp/pq/a.parquet"))
