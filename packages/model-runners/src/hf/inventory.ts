import * as path from "node:path"
import { CheckpointError } from "../errors.js"
import type { Architecture, WeightSpec } from "./architecture.js"
import type { HfCheckpoint } from "./checkpoint.js"

/** How many unused tensor names an error lists. */
const LIST = 4

/** "0..2" / "0..1, 3, 5..7": sorted distinct layer indices as ranges. */
export function formatLayers(layers: readonly number[]): string {
  const parts: string[] = []
  for (let i = 0; i < layers.length; ) {
    let j = i
    while (j + 1 < layers.length && layers[j + 1] === layers[j] + 1) j++
    parts.push(j === i ? `${layers[i]}` : `${layers[i]}..${layers[j]}`)
    i = j + 1
  }
  return parts.length > 8 ? `${parts.slice(0, 8).join(", ")}, ...` : parts.join(", ")
}

/**
 * What the checkpoint holds against what the architecture reads, before any weight is read:
 * 1. the layers stored (indices in the tensor names) must be exactly 0..n-1 for n = config.json's layer
 *    count, else an error naming config.json, the field and the indices found;
 * 2. every stored tensor must be read by some stage or be one the architecture knows to be harmless
 *    (`Architecture.ignorable`), else an error naming the file and the first few unused tensors.
 * Missing tensors and shapes are checked afterwards, tensor by tensor.
 */
export function checkInventory(ckpt: HfCheckpoint, arch: Architecture, specs: readonly WeightSpec[]): void {
  const names = ckpt.names()
  const stored = [...new Set(names.map((n) => arch.layerOf(n)).filter((l): l is number => l !== null))].sort((a, b) => a - b)
  const n = arch.dims.nLayers
  if (stored.length !== n || stored.some((l, i) => l !== i)) {
    const source = path.basename(ckpt.weightsFile)
    const verb = source.endsWith(".index.json") ? "names" : "holds"
    const found = stored.length === 0 ? "no layers" : `layers ${formatLayers(stored)} (${stored.length} layer${stored.length === 1 ? "" : "s"})`
    throw new CheckpointError({ file: path.join(ckpt.dir, "config.json"), reason: `${arch.layersField}: ${n}, but ${source} ${verb} ${found}` })
  }
  const used = new Set(specs.map((s) => s.name))
  const unused = names.filter((t) => !used.has(t) && !arch.ignorable(t))
  if (unused.length > 0) {
    const more = unused.length > LIST ? ` and ${unused.length - LIST} more` : ""
    const files = new Set(unused.map((t) => ckpt.fileOf(t)))
    const file = files.size === 1 ? ckpt.fileOf(unused[0]) : ckpt.weightsFile
    throw new CheckpointError({
      file,
      reason: `${unused.length} tensor${unused.length === 1 ? "" : "s"} not used by the ${arch.modelType} implementation: ${unused.slice(0, LIST).join(", ")}${more}`
    })
  }
}
