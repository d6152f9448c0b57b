/**
 * Filtered reader: `read({ checkpoint, layer })` opens only the shards index.json lists for that
 * (checkpoint, layer[, hook]) and keeps rows whose position / concept is in the given lists.
 */
import { join } from "node:path"
import { readParquetFile } from "@conceptscope/artifacts"
import { ActivationStoreError } from "./errors.js"
import { INDEX_FILE, readIndex, type ActivationIndex, type ShardEntry } from "./index-file.js"

export interface ActivationFilter {
  checkpoint: number
  layer: number // -1 = hook_embed
  /** Needed only when several hooks were stored for this (checkpoint, layer). */
  hook?: string
  positions?: number[]
  concepts?: number[]
}

export interface ActivationSlice {
  n: number
  dModel: number
  positions: Int32Array // [n]
  seqIds: Int32Array // [n]
  concepts: Int32Array // [n]
  vectors: Float32Array // [n, dModel]
}

const READ_COLUMNS = ["position", "seq_id", "concept", "vector"]

const sortedUnique = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b)

export class ActivationReader {
  private constructor(
    readonly dir: string,
    readonly index: ActivationIndex
  ) {}

  static async open(dir: string): Promise<ActivationReader> {
    return new ActivationReader(dir, await readIndex(dir))
  }

  get dModel(): number {
    return this.index.dModel
  }

  checkpoints(): number[] {
    return sortedUnique(this.index.shards.map((s) => s.checkpoint))
  }

  layers(): number[] {
    return sortedUnique(this.index.shards.map((s) => s.layer))
  }

  /** Hooks stored for a (checkpoint, layer). */
  hooks(checkpoint: number, layer: number): string[] {
    return [...new Set(this.index.shards.filter((s) => s.checkpoint === checkpoint && s.layer === layer).map((s) => s.hook))].sort()
  }

  private shardsFor(f: ActivationFilter): ShardEntry[] {
    const file = join(this.dir, INDEX_FILE)
    const hooks = this.hooks(f.checkpoint, f.layer)
    if (hooks.length === 0)
      throw new ActivationStoreError({
        file,
        reason: `no activations for checkpoint ${f.checkpoint}, layer ${f.layer} (checkpoints ${this.checkpoints().join(",")}; layers ${this.layers().join(",")})`
      })
    const hook = f.hook ?? (hooks.length === 1 ? hooks[0] : undefined)
    if (hook === undefined)
      throw new ActivationStoreError({ file, field: "hook", reason: `several hooks stored for layer ${f.layer} (${hooks.join(", ")}); pass one` })
    if (!hooks.includes(hook)) throw new ActivationStoreError({ file, field: "hook", reason: `no ${hook} for layer ${f.layer} (have ${hooks.join(", ")})` })
    return this.index.shards.filter((s) => s.checkpoint === f.checkpoint && s.layer === f.layer && s.hook === hook)
  }

  /** Rows of one (checkpoint, layer), in write order, optionally restricted to positions and concepts. */
  async read(filter: ActivationFilter): Promise<ActivationSlice> {
    const d = this.index.dModel
    const posSet = filter.positions ? new Set(filter.positions) : undefined
    const conSet = filter.concepts ? new Set(filter.concepts) : undefined
    const parts: ActivationSlice[] = []
    for (const shard of this.shardsFor(filter)) {
      const file = join(this.dir, shard.file)
      const t = await readParquetFile(file, { columns: READ_COLUMNS })
      const [pos, seq, con, vec] = t.columns
      if (pos.type !== "int32" || seq.type !== "int32" || con.type !== "int32" || vec.type !== "vector")
        throw new ActivationStoreError({ file, reason: "unexpected column types" })
      if (vec.dim !== d) throw new ActivationStoreError({ file, field: "vector", reason: `dim ${vec.dim}, index says dModel ${d}` })
      if (t.numRows !== shard.rows) throw new ActivationStoreError({ file, reason: `${t.numRows} rows, index says ${shard.rows}` })
      const all: ActivationSlice = { n: t.numRows, dModel: d, positions: pos.data, seqIds: seq.data, concepts: con.data, vectors: vec.data }
      parts.push(posSet || conSet ? selectRows(all, (i) => (!posSet || posSet.has(all.positions[i])) && (!conSet || conSet.has(all.concepts[i]))) : all)
    }
    return concatSlices(parts, d)
  }
}

/** Rows i of `s` with keep(i), copied. */
function selectRows(s: ActivationSlice, keep: (i: number) => boolean): ActivationSlice {
  const idx: number[] = []
  for (let i = 0; i < s.n; i++) if (keep(i)) idx.push(i)
  const n = idx.length
  const d = s.dModel
  const out: ActivationSlice = {
    n,
    dModel: d,
    positions: new Int32Array(n),
    seqIds: new Int32Array(n),
    concepts: new Int32Array(n),
    vectors: new Float32Array(n * d) // [n, dModel]
  }
  idx.forEach((i, j) => {
    out.positions[j] = s.positions[i]
    out.seqIds[j] = s.seqIds[i]
    out.concepts[j] = s.concepts[i]
    out.vectors.set(s.vectors.subarray(i * d, (i + 1) * d), j * d)
  })
  return out
}

/** Concatenate slices in order (the single-slice case returns it as is). */
function concatSlices(parts: ActivationSlice[], d: number): ActivationSlice {
  if (parts.length === 1) return parts[0]
  const n = parts.reduce((s, p) => s + p.n, 0)
  const out: ActivationSlice = {
    n,
    dModel: d,
    positions: new Int32Array(n),
    seqIds: new Int32Array(n),
    concepts: new Int32Array(n),
    vectors: new Float32Array(n * d) // [n, dModel]
  }
  let r = 0
  for (const p of parts) {
    out.positions.set(p.positions, r)
    out.seqIds.set(p.seqIds, r)
    out.concepts.set(p.concepts, r)
    out.vectors.set(p.vectors, r * d)
    r += p.n
  }
  return out
}
