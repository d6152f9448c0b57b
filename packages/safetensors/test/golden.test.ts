import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { planShards, saveSafetensors, type TensorPlan, writeSafetensors, writeShardedSafetensors } from "../src/index.js"
import { tempDir } from "./helpers.js"

/**
 * Byte-exact output in the two layouts the project writes; the expected bytes and hashes were taken from
 * files written by the writers this package replaced, so checkpoints stay byte-identical:
 *   saveSafetensors (regression-transformer checkpoints, Adam state): F32, `__metadata__` first only when
 *     metadata is given, tensors in iteration order, JSON padded with spaces to a multiple of 8;
 *   tiny Hugging Face checkpoints: `__metadata__` {"format":"pt"} first, F32/BF16/F16, optionally sharded.
 */
const dir = tempDir("golden")
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex")

/** u64 LE header length + JSON + space padding + data, from the format description. */
function layout(json: string, data: string): Buffer {
  const pad = " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8)
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json + pad)))
  return Buffer.concat([len, Buffer.from(json + pad), Buffer.from(data, "hex")])
}

// values chosen to exercise rounding: ties to even in BF16, F16 overflow and subnormals
const VALUES: Record<string, number[]> = {
  "model.embed_tokens.weight": [1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -2, 65520, 2 ** -25],
  "model.norm.weight": [1.5 * 2 ** -25, -0.5, 0.1],
  "lm_head.weight": [3.14159, -65504, 1e-3]
}
const hfTensors = (dtype: TensorPlan["dtype"]): TensorPlan[] => [
  { name: "model.embed_tokens.weight", shape: [2, 3], dtype },
  { name: "model.norm.weight", shape: [3], dtype },
  { name: "lm_head.weight", shape: [1, 3], dtype }
]
const hfValues = (t: TensorPlan) => new Float32Array(VALUES[t.name])

describe("golden bytes", () => {
  it("saveSafetensors layout without metadata: exact bytes", async () => {
    const path = join(dir, "plain.safetensors")
    await saveSafetensors(path, { w: { shape: [3], data: new Float32Array([0.25, 2, -3]) } })
    const want = layout('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}', "0000803e00000040000040c0")
    expect(readFileSync(path).toString("hex")).toBe(want.toString("hex"))
  })

  it("saveSafetensors layout with metadata (Adam-state shaped): exact header, hash of the file", async () => {
    const path = join(dir, "adam.safetensors")
    await saveSafetensors(
      path,
      new Map([
        ["m.blocks.0.attn.W_Q", { shape: [2, 3], data: new Float32Array([1, -2, 0.5, -0, 1e-8, 3.4e38]) }],
        ["v.b", { shape: [2], data: new Float32Array([Infinity, -1.5]) }],
        ["scalar", { shape: [], data: new Float32Array([7]) }],
        ["empty", { shape: [0, 3], data: new Float32Array(0) }]
      ]),
      { format: "conceptscope.adam.v1", step: "12", options: JSON.stringify({ lr: 0.001, beta1: 0.9 }) }
    )
    const bytes = readFileSync(path)
    const n = Number(bytes.readBigUInt64LE(0))
    expect(bytes.subarray(8, 8 + n).toString()).toBe(
      '{"__metadata__":{"format":"conceptscope.adam.v1","step":"12","options":"{\\"lr\\":0.001,\\"beta1\\":0.9}"},' +
        '"m.blocks.0.attn.W_Q":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"v.b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},' +
        '"scalar":{"dtype":"F32","shape":[],"data_offsets":[32,36]},"empty":{"dtype":"F32","shape":[0,3],"data_offsets":[36,36]}}      '
    )
    expect(sha256(path)).toBe("850faa5ec1dbd0e199a2ff72324f8dafe076b0cc02a9d63d9c98469c6167ee20")
  })

  it("tiny-checkpoint layout, BF16: exact bytes", async () => {
    const path = join(dir, "bf16.safetensors")
    await writeSafetensors(path, hfTensors("BF16"), hfValues, { format: "pt" })
    const json =
      '{"__metadata__":{"format":"pt"},"model.embed_tokens.weight":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},' +
      '"model.norm.weight":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},"lm_head.weight":{"dtype":"BF16","shape":[1,3],"data_offsets":[18,24]}}'
    const want = layout(json, "803f803f823f00c080470033" + "403300bfcd3d" + "494080c7833a")
    expect(readFileSync(path).toString("hex")).toBe(want.toString("hex"))
  })

  it("tiny-checkpoint layout, F32 and F16: file hashes", async () => {
    const want = {
      F32: "01ae075912ddc95869810fb09a6e8767fd4229f3f65a17a74aba60a54ac44914",
      F16: "65abacf3171beb4fd5a9526f880184eb91502f464eabbadc0509192ce906af12"
    }
    for (const dtype of ["F32", "F16"] as const) {
      const path = join(dir, `${dtype}.safetensors`)
      await writeSafetensors(path, hfTensors(dtype), hfValues, { format: "pt" })
      expect(sha256(path), dtype).toBe(want[dtype])
    }
  })

  it("tiny-checkpoint layout, BF16 in 2 shards: shard and index hashes", async () => {
    const out = join(dir, "sharded")
    const files = await writeShardedSafetensors(out, planShards(hfTensors("BF16"), 2), hfValues, { metadata: { format: "pt" } })
    expect(files.map((f) => f.path.slice(out.length + 1))).toEqual(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"])
    expect(files.map((f) => sha256(f.path))).toEqual([
      "235ff87baac937332f9faa75fb801563c97fdfa7c4d3a36720deba648b8864a0",
      "e1479c30fdb0c4d5127bff76c42052d9f4ec555dfe8ba2bcafa45c2725b5843a",
      "5091a9835e44e3d2647239de3edda21d42d32c8b2c8b6dd387fae12d55acb998"
    ])
  })
})
