import { DuckDBInstance } from "@duckdb/node-api"
import { parquetReadObjects } from "hyparquet"
import { readFileSync } from "node:fs"
const db = await DuckDBInstance.create()
const con = await db.connect()
const r = await con.runAndReadAll("SELECT i, b, f, d, t, s, len(v) AS l, v[1] AS v1, list_sum(v) AS sv FROM read_parquet('/tmp/pq/a.parquet')")
console.log(r.getRowObjects())
const r2 = await con.runAndReadAll("SELECT * FROM parquet_schema('/tmp/pq/a.parquet')")
console.log(r2.getRowObjects().map(o => [o.name, o.type, o.repetition_type, o.converted_type, o.logical_type]))
const r3 = await con.runAndReadAll("SELECT row_group_id, path_in_schema, stats_min, stats_max FROM parquet_metadata('/tmp/pq/a.parquet') WHERE path_in_schema='i'")
console.log(r3.getRowObjects())
const buf = readFileSync("/tmp/pq/a.parquet")
console.log(await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) }))
