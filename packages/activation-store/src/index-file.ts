/** The store's `index.json`: which shard holds which (checkpoint, layer, hook). */
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { Either, ParseResult, Schema } from "effect"
import { ActivationStoreError } from "./errors.js"

export const INDEX_FILE = "index.json"

export const ShardEntrySchema = Schema.Struct({
  file: Schema.String, // "part-00000.parquet", relative to the store directory
  checkpoint: Schema.Int,
  layer: Schema.Int.pipe(Schema.greaterThanOrEqualTo(-1)), // -1 = hook_embed
  hook: Schema.String,
  rows: Schema.Int.pipe(Schema.nonNegative())
})
export type ShardEntry = Schema.Schema.Type<typeof ShardEntrySchema>

export const ActivationIndexSchema = Schema.Struct({
  version: Schema.Literal(1),
  dModel: Schema.Int.pipe(Schema.positive()),
  rows: Schema.Int.pipe(Schema.nonNegative()),
  shards: Schema.Array(ShardEntrySchema)
})
export type ActivationIndex = Schema.Schema.Type<typeof ActivationIndexSchema>

export const shardFileName = (k: number): string => `part-${String(k).padStart(5, "0")}.parquet`

export async function writeIndex(dir: string, index: ActivationIndex): Promise<void> {
  await writeFile(join(dir, INDEX_FILE), JSON.stringify(index, null, 2) + "\n")
}

export async function readIndex(dir: string): Promise<ActivationIndex> {
  const file = join(dir, INDEX_FILE)
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(file, "utf8"))
  } catch (e) {
    throw new ActivationStoreError({ file, reason: (e instanceof Error ? e.message : String(e)).split("\n")[0] })
  }
  const decoded = Schema.decodeUnknownEither(ActivationIndexSchema)(raw)
  if (Either.isLeft(decoded)) {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
    throw new ActivationStoreError({
      file,
      field: issue?.path.join(".") || undefined,
      reason: (issue?.message ?? "invalid index").split("\n")[0]
    })
  }
  const index = decoded.right
  const total = index.shards.reduce((s, e) => s + e.rows, 0)
  if (total !== index.rows) throw new ActivationStoreError({ file, field: "rows", reason: `shards hold ${total} rows, index says ${index.rows}` })
  return index
}
