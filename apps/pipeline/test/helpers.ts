import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
export const CLI = path.join(ROOT, "apps/pipeline/bin/conceptscope.mjs")

export const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix))

/** A tiny config that runs every stage in seconds: 2 bases in D = 4, K = 4, a 2-layer width-16 model. */
export const tinyConfig = (over: Record<string, unknown> = {}) => ({
  name: "tiny",
  description: "test config",
  seeds: [3],
  task: {
    dim: 4, nBases: 2, rank: 2, layout: "disjoint", groups: 2, noiseVariance: 0.01, nExamples: 4,
    weightPool: { kind: "pool", size: 1, seed: 5 }, weightScale: 1
  },
  model: { nLayers: 2, dModel: 16, nHeads: 2, tokenFormat: "xy-pair" },
  train: { steps: 30, batchSize: 16, lr: 0.003, checkpoints: 4 },
  eval: { sequences: 40 },
  probe: { perConcept: 12, k: 5, positions: ["last-x", "last-y"], reportPosition: "last-y" },
  patching: { perConcept: 8 },
  ...over
})

export function writeConfig(dir: string, cfg: unknown, name = "tiny.json"): string {
  const file = path.join(dir, name)
  fs.writeFileSync(file, JSON.stringify(cfg, null, 1))
  return file
}

/** Every committed artifact directory under a store root (kind/key), sorted. */
export function storeListing(root: string): string[] {
  if (!fs.existsSync(root)) return []
  const out: string[] = []
  for (const kind of fs.readdirSync(root)) {
    if (kind.startsWith(".")) continue
    for (const key of fs.readdirSync(path.join(root, kind))) out.push(`${kind}/${key}`)
  }
  return out.sort()
}

/** A tiny LLM config on an embedded LM that pretrains in seconds (2 layers, width 16, 4 steps), bitwise only. */
export const tinyEmbeddedLlm = (over: Record<string, unknown> = {}) => ({
  experiment: "llm",
  name: "emb-tiny",
  description: "test",
  seeds: [2],
  model: { embedded: { size: { nLayers: 2, dModel: 16, nHeads: 2, nKvHeads: 1, intermediate: 32 }, vocabWords: 60, corpus: { tokenizerDocs: 40, maxShots: 2 }, train: { steps: 4, batchSize: 2, maxTokens: 96, warmupSteps: 1, checkpoints: 2 } } },
  families: ["bitwise"],
  shots: [1],
  perConcept: 4,
  td: { k: 3 },
  promptingShots: null,
  taskVectors: { shots: 1, replicates: 2 },
  ...over
})
