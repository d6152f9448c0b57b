import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import {
  INDEX_FILE,
  loadSafetensors,
  planShards,
  SafetensorsReader,
  shardFileName,
  shardIndex,
  type TensorPlan,
  writeShardedSafetensors
} from "../src/index.js"
import { expectSafetensorsError, tempDir } from "./helpers.js"

const tensors: TensorPlan[] = [
  { name: "embed", shape: [10, 4], dtype: "BF16" }, // 80 bytes
  { name: "layers.0.w", shape: [4, 4], dtype: "BF16" }, // 32
  { name: "layers.0.b", shape: [4], dtype: "BF16" }, // 8
  { name: "layers.1.w", shape: [4, 4], dtype: "BF16" }, // 32
  { name: "head", shape: [4, 10], dtype: "BF16" } // 80
]
const valuesOf = (t: TensorPlan) => Float32Array.from({ length: t.shape.reduce((a, b) => a * b, 1) }, (_, i) => (t.name.length * 7 + i) / 8)

describe("sharding", () => {
  it("plans contiguous, non-empty shards of roughly equal bytes", () => {
    const names = (n: number) => planShards(tensors, n).map((s) => s.map((t) => t.name))
    expect(names(1)).toEqual([tensors.map((t) => t.name)])
    expect(names(2)).toEqual([["embed", "layers.0.w", "layers.0.b"], ["layers.1.w", "head"]]) // closes once past 232 / 2 bytes
    expect(names(5)).toEqual(tensors.map((t) => [t.name]))
    expect(shardFileName(2, 3)).toBe("model-00002-of-00003.safetensors")
  })

  it("rejects impossible plans", async () => {
    await expectSafetensorsError(() => planShards(tensors, 6), INDEX_FILE, null, /6 shards asked for 5 tensors/)
    await expectSafetensorsError(() => planShards(tensors, 0), INDEX_FILE, null, /shards must be a positive integer/)
  })

  it("one shard: model.safetensors and no index", async () => {
    const dir = tempDir("one")
    const files = await writeShardedSafetensors(dir, planShards(tensors, 1), valuesOf)
    expect(files.map((f) => f.path)).toEqual([join(dir, "model.safetensors")])
    expect(readdirSync(dir)).toEqual(["model.safetensors"])
  })

  it("N shards: shard files, an index like save_pretrained's, values independent of the layout", async () => {
    const dir = tempDir("three")
    const seen: string[] = []
    const files = await writeShardedSafetensors(dir, planShards(tensors, 3), valuesOf, { metadata: { format: "pt" }, onFile: (p, bytes) => seen.push(`${p}:${bytes}`) })
    const names = [1, 2, 3].map((i) => shardFileName(i, 3))
    expect(files.map((f) => f.path)).toEqual([...names, INDEX_FILE].map((f) => join(dir, f)))
    expect(seen).toEqual(files.map((f) => `${f.path}:${f.bytes}`))
    const indexText = readFileSync(join(dir, INDEX_FILE), "utf8")
    const index = JSON.parse(indexText)
    expect(indexText).toBe(JSON.stringify(index, null, 2) + "\n")
    expect(Object.keys(index)).toEqual(["metadata", "weight_map"])
    expect(Object.keys(index.weight_map)).toEqual(tensors.map((t) => t.name).sort())
    expect(index).toEqual(shardIndex(planShards(tensors, 3)))
    expect(index.metadata.total_size).toBe(80 + 32 + 8 + 32 + 80)
    for (const t of tensors) {
      const r = SafetensorsReader.open(join(dir, index.weight_map[t.name]))
      expect(r.metadata).toEqual({ format: "pt" })
      expect(Array.from(r.read(t.name))).toEqual(Array.from(valuesOf(t)))
      r.close()
    }
    const total = await Promise.all(names.map((n) => loadSafetensors(join(dir, n))))
    expect(total.reduce((s, f) => s + f.tensors.size, 0)).toBe(tensors.length)
  })

  it("values are asked for with a running index across shards; a tensor in two shards is refused", async () => {
    const dir = tempDir("idx")
    const asked: number[] = []
    await writeShardedSafetensors(dir, planShards(tensors, 2), (t, i) => (asked.push(i), valuesOf(t)))
    expect(asked).toEqual([0, 1, 2, 3, 4])
    const twice = [[tensors[0]], [tensors[1], tensors[0]]]
    const other = tempDir("twice")
    await expectSafetensorsError(() => writeShardedSafetensors(other, twice, valuesOf), join(other, INDEX_FILE), "embed", /tensor in two shards/)
    expect(existsSync(join(other, shardFileName(1, 2)))).toBe(false)
  })
})
