import * as fs from "node:fs"
import * as path from "node:path"
import { CheckpointError } from "../errors.js"
import { SafetensorsReader } from "@conceptscope/safetensors"

/** Where a tensor's bytes are: its file (and open descriptor), byte range, stored dtype and shape. */
export interface TensorLocation {
  readonly file: string
  readonly fd: number
  readonly begin: number
  readonly end: number
  readonly dtype: "F32" | "F16" | "BF16"
  readonly shape: readonly number[]
  readonly numel: number
}

/**
 * A local Hugging Face model directory: `config.json`, and `model.safetensors` or the shards named by
 * `model.safetensors.index.json` (`weight_map`). Nothing is downloaded. Tensors are read lazily, one at
 * a time, by byte range; every shard's header is opened and checked up front, so a missing or corrupt
 * shard fails at open time with the file and a tensor named.
 */
export class HfCheckpoint {
  private constructor(
    readonly dir: string,
    readonly config: Readonly<Record<string, unknown>>,
    /** generation_config.json when present (defaults such as eos_token_id), else {}. */
    readonly generationConfig: Readonly<Record<string, unknown>>,
    /** model.safetensors, or model.safetensors.index.json for a sharded checkpoint. */
    readonly weightsFile: string,
    private readonly where: ReadonlyMap<string, SafetensorsReader>,
    private readonly readers: readonly SafetensorsReader[]
  ) {}

  static open(dir: string): HfCheckpoint {
    const configFile = path.join(dir, "config.json")
    if (!fs.existsSync(configFile)) throw new CheckpointError({ file: configFile, reason: "missing (not a Hugging Face model directory)" })
    let config: Record<string, unknown>
    try {
      config = JSON.parse(fs.readFileSync(configFile, "utf8")) as Record<string, unknown>
    } catch (e) {
      throw new CheckpointError({ file: configFile, reason: `not JSON: ${(e as Error).message}` })
    }
    const genFile = path.join(dir, "generation_config.json")
    let generationConfig: Record<string, unknown> = {}
    if (fs.existsSync(genFile)) {
      try {
        generationConfig = JSON.parse(fs.readFileSync(genFile, "utf8")) as Record<string, unknown>
      } catch (e) {
        throw new CheckpointError({ file: genFile, reason: `not JSON: ${(e as Error).message}` })
      }
    }
    const indexFile = path.join(dir, "model.safetensors.index.json")
    const single = path.join(dir, "model.safetensors")
    const where = new Map<string, SafetensorsReader>()
    const readers: SafetensorsReader[] = []
    try {
      if (fs.existsSync(indexFile)) {
        let index: { weight_map?: Record<string, string> }
        try {
          index = JSON.parse(fs.readFileSync(indexFile, "utf8")) as { weight_map?: Record<string, string> }
        } catch (e) {
          throw new CheckpointError({ file: indexFile, reason: `not JSON: ${(e as Error).message}` })
        }
        if (!index.weight_map || typeof index.weight_map !== "object") throw new CheckpointError({ file: indexFile, reason: "no weight_map" })
        const byShard = new Map<string, string[]>()
        for (const [t, shard] of Object.entries(index.weight_map)) byShard.set(shard, [...(byShard.get(shard) ?? []), t])
        for (const [shard, names] of byShard) {
          const file = path.join(dir, shard)
          if (!fs.existsSync(file)) throw new CheckpointError({ file, tensor: names[0], reason: `shard missing (named by model.safetensors.index.json for ${names.length} tensors)` })
          const r = SafetensorsReader.open(file)
          readers.push(r)
          for (const t of names) {
            if (!r.has(t)) throw new CheckpointError({ file, tensor: t, reason: "named by model.safetensors.index.json but not in the shard" })
            where.set(t, r)
          }
        }
      } else if (fs.existsSync(single)) {
        const r = SafetensorsReader.open(single)
        readers.push(r)
        for (const t of r.tensors.keys()) where.set(t, r)
      } else {
        throw new CheckpointError({ file: single, reason: "missing (and no model.safetensors.index.json)" })
      }
    } catch (e) {
      for (const r of readers) r.close()
      throw e
    }
    return new HfCheckpoint(dir, config, generationConfig, fs.existsSync(indexFile) ? indexFile : single, where, readers)
  }

  has(name: string): boolean {
    return this.where.has(name)
  }

  names(): string[] {
    return [...this.where.keys()]
  }

  /** The safetensors file holding a tensor. */
  fileOf(name: string): string {
    return this.where.get(name)?.file ?? this.weightsFile
  }

  /** Shape stored in the file. */
  shape(name: string): readonly number[] {
    const r = this.where.get(name)
    const info = r?.tensors.get(name)
    if (!r || !info) throw new CheckpointError({ file: this.dir, tensor: name, reason: "tensor not in the checkpoint" })
    return info.shape
  }

  /** Bytes the weights take as float32 (what the tensor backend holds). */
  float32Bytes(): number {
    let n = 0
    for (const [t, r] of this.where) n += (r.tensors.get(t)?.shape ?? []).reduce((a, b) => a * b, 1) * 4
    return n
  }

  /** Read a tensor as float32, checking its shape against what the config implies. */
  read(name: string, expected: readonly number[]): Float32Array {
    return this.reader(name, expected).read(name)
  }

  /** As read(), into `out` (e.g. tensor memory on the wasm heap). */
  readInto(name: string, expected: readonly number[], out: Float32Array): Float32Array {
    return this.reader(name, expected).readInto(name, out)
  }

  /** Rows of a 2-D tensor [n, cols] as float32 [rows.length, cols] (shape checked as read() does). */
  readRowsInto(name: string, expected: readonly number[], rows: ArrayLike<number>, out: Float32Array): Float32Array {
    return this.reader(name, expected).readRowsInto(name, rows, out)
  }

  /** Where a tensor's bytes are (for a reader on another thread), checking its shape as read() does. */
  range(name: string, expected: readonly number[]): TensorLocation {
    const r = this.reader(name, expected)
    const info = r.tensors.get(name)!
    return { file: r.file, fd: r.descriptor(), begin: info.begin, end: info.end, dtype: info.dtype, shape: expected, numel: expected.reduce((a, b) => a * b, 1) }
  }

  private reader(name: string, expected: readonly number[]): SafetensorsReader {
    const r = this.where.get(name)
    if (!r) throw new CheckpointError({ file: this.dir, tensor: name, reason: "tensor not in the checkpoint" })
    const shape = r.tensors.get(name)?.shape ?? []
    if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i])) {
      throw new CheckpointError({ file: r.file, tensor: name, reason: `shape [${shape}] disagrees with config.json, which implies [${expected}]` })
    }
    return r
  }

  close(): void {
    for (const r of this.readers) r.close()
  }
}
