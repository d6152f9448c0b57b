import { DEFAULT_CORPUS } from "@conceptscope/task-generators"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { defineExperiment, stageEntry } from "../experiment/table.js"
import { modelFiles } from "../stages/lm-model.js"
import { type FamilyName, isEmbedded, type LlmConfig, LlmConfigSchema } from "./llm-config.js"

/**
 * The LLM experiment (the study's Part 2): concept task families as ICL prompts for a causal LM from a
 * local Hugging Face directory. One cell per family and seed.
 *
 *   lm-model ─┬─ lm-run ─┬─ lm-td ──┬─ task-vectors ───────────────┐
 *   prompts ──┴──────────┴──────────┼─ lm-finetune ── lm-table1 ───┴─ lm-report
 *                                   └──────────────────────────────┘
 *
 * The model enters every key by its content fingerprint (lm-model), the corpus by its sha256.
 */
const entry = stageEntry<LlmConfig>()

/** The cell's family: a cell's config lists exactly one. */
const familyOf = (config: LlmConfig): FamilyName => config.families[0]

const corpusHashes = new Map<string, string>()
/** sha256 of a corpus file's bytes (memoised per process: the grid asks once per cell). */
function corpusSha(file: string): string {
  let h = corpusHashes.get(file)
  if (!h) {
    h = createHash("sha256").update(fs.readFileSync(file)).digest("hex")
    corpusHashes.set(file, h)
  }
  return h
}

/** How answers are scored, and (for generation) the text that follows an answer, whose first token stops it. */
const scoringParams = (config: LlmConfig) => ({ scoring: config.scoring, stopAfter: `${config.template.exampleSeparator}${config.template.inputPrefix}` })

const lmModel = entry({
  name: "lm-model",
  packages: ["model-runners", "finetuners", "task-generators", "artifacts", "safetensors"],
  upstream: [],
  params: ({ config }) => {
    const m = config.model
    if (!isEmbedded(m)) {
      const dir = path.resolve(m.dir)
      return { source: "dir" as const, dir, files: modelFiles(dir) }
    }
    // the embedded LM reads both families whatever the cell's family, so both cells share one model
    const corpusFile = config.pos.corpus ? path.resolve(config.pos.corpus) : null
    return {
      source: "embedded" as const,
      embedded: {
        ...m.embedded,
        pos: { corpus: corpusFile, sha256: corpusSha(corpusFile ?? DEFAULT_CORPUS), mapping: config.pos.mapping, testFraction: config.pos.testFraction },
        bitwise: { width: config.bitwise.width, testFraction: config.bitwise.testFraction },
        template: config.template,
        instructions: config.instructions,
        splitSeed: config.seeds[0]
      }
    }
  },
  load: () => import("../stages/lm-model.js").then((m) => m.lmModelStage)
})

const prompts = entry({
  name: "prompts",
  packages: ["task-generators", "artifacts"],
  upstream: [],
  params: ({ config, seed }) => {
    const family = familyOf(config)
    const src = family === "pos" ? config.pos : config.bitwise
    const corpusFile = config.pos.corpus ? path.resolve(config.pos.corpus) : null
    return {
      family,
      corpus: family === "pos" ? { file: corpusFile, sha256: corpusSha(corpusFile ?? DEFAULT_CORPUS) } : null,
      mapping: config.pos.mapping,
      width: config.bitwise.width,
      testFraction: src.testFraction,
      template: config.template,
      shots: config.shots,
      perConcept: config.perConcept,
      promptingShots: config.promptingShots,
      instructions: config.instructions[family],
      seed
    }
  },
  load: () => import("../stages/prompts.js").then((m) => m.promptsStage)
})

const lmRun = entry({
  name: "lm-run",
  packages: ["model-runners", "task-generators", "activation-store", "artifacts"],
  upstream: [lmModel, prompts],
  params: ({ config }, up) => ({ fingerprint: up["lm-model"].fingerprint, mode: config.model.mode, batchSize: config.batchSize, ...scoringParams(config) }),
  load: () => import("../stages/lm-run.js").then((m) => m.lmRunStage)
})

const lmTd = entry({
  name: "lm-td",
  packages: ["probes", "activation-store", "model-runners", "artifacts"],
  upstream: [prompts, lmRun],
  params: ({ config, seed }, up) => ({
    labels: up.prompts.labels,
    k: config.td.k,
    metric: config.td.metric,
    umap: { nNeighbors: config.td.umapNeighbors, minDist: config.td.umapMinDist, seed }
  }),
  load: () => import("../stages/lm-td.js").then((m) => m.lmTdStage)
})

const taskVectors = entry({
  name: "task-vectors",
  packages: ["model-runners", "task-generators", "activation-store", "artifacts"],
  upstream: [lmModel, prompts, lmRun, lmTd],
  params: ({ config, seed }, up) => ({
    fingerprint: up["lm-model"].fingerprint,
    mode: config.model.mode,
    batchSize: config.batchSize,
    ...scoringParams(config),
    layer: config.taskVectors.layer === "peak" ? up["lm-td"].peakLayer : config.taskVectors.layer,
    shots: config.taskVectors.shots,
    replicates: config.taskVectors.replicates,
    modes: config.taskVectors.modes,
    seed
  }),
  load: () => import("../stages/task-vectors.js").then((m) => m.taskVectorsStage)
})

/** The first k and last k layers of an nLayers model (k: the config's, or a third of the layers). */
export function table1Variants(config: LlmConfig, nLayers: number): { name: string; layers: [number, ...number[]] }[] {
  if (config.finetune === null) return []
  const k = Math.min(nLayers, config.finetune.k ?? Math.max(1, Math.round(nLayers / 3)))
  const range = (from: number) => Array.from({ length: k }, (_, i) => from + i) as [number, ...number[]]
  return [
    { name: "firstK", layers: range(0) },
    { name: "lastK", layers: range(nLayers - k) }
  ]
}

const lmFinetune = entry({
  name: "lm-finetune",
  packages: ["model-runners", "finetuners", "task-generators", "artifacts", "core"],
  upstream: [lmModel],
  params: ({ config, seed }, up) => {
    const f = config.finetune
    const family = familyOf(config)
    const corpusFile = config.pos.corpus ? path.resolve(config.pos.corpus) : null
    return {
      fingerprint: up["lm-model"].fingerprint,
      source: {
        family,
        corpus: family === "pos" ? { file: corpusFile, sha256: corpusSha(corpusFile ?? DEFAULT_CORPUS) } : null,
        mapping: config.pos.mapping,
        width: config.bitwise.width,
        testFraction: family === "pos" ? config.pos.testFraction : config.bitwise.testFraction,
        seed
      },
      template: config.template,
      lora: { r: f?.r ?? 16, alpha: f?.alpha ?? 16, dropout: f?.dropout ?? 0.1, targets: f?.targets ?? (["q_proj"] as const) },
      variants: table1Variants(config, up["lm-model"].nLayers),
      train: { steps: f?.steps ?? 0, batchSize: f?.batchSize ?? 1, lr: f?.lr ?? 0, warmupSteps: f?.warmupSteps ?? 0, minShots: f?.minShots ?? 0, maxShots: f?.maxShots ?? 0 },
      seed
    }
  },
  load: () => import("../stages/lm-finetune.js").then((m) => m.lmFinetuneStage)
})

const lmTable1 = entry({
  name: "lm-table1",
  packages: ["model-runners", "task-generators", "probes", "artifacts", "core"],
  upstream: [lmModel, prompts, lmTd, lmFinetune],
  params: ({ config }, up) => ({
    fingerprint: up["lm-model"].fingerprint,
    mode: config.model.mode,
    batchSize: config.batchSize,
    ...scoringParams(config),
    shots: config.finetune === null ? null : config.promptingShots,
    labels: up.prompts.labels,
    k: config.td.k,
    metric: config.td.metric,
    pretrainedPeak: up["lm-td"].peakLayer,
    variants: up["lm-finetune"].variants.map((v) => ({ name: v.name, layers: v.layers }))
  }),
  load: () => import("../stages/lm-table1.js").then((m) => m.lmTable1Stage)
})

const lmTrajectory = entry({
  name: "lm-trajectory",
  packages: ["model-runners", "task-generators", "probes", "artifacts", "core"],
  upstream: [lmModel, prompts, lmTd],
  params: ({ config, seed }, up) => {
    const t = config.trajectory
    const checkpoints =
      t === null
        ? []
        : t.checkpoints === "embedded"
          ? up["lm-model"].checkpoints.map((c) => ({ step: c.step, dir: c.dir, inModel: true, files: [] }))
          : t.checkpoints.map((c) => ({ step: c.step, dir: path.resolve(c.dir), inModel: false, files: modelFiles(path.resolve(c.dir)) }))
    return {
      fingerprint: up["lm-model"].fingerprint,
      mode: config.model.mode,
      batchSize: config.batchSize,
      ...scoringParams(config),
      shots: t === null ? null : (t.shots ?? Math.max(...config.shots)),
      layer: up["lm-td"].peakLayer,
      labels: up.prompts.labels,
      k: config.td.k,
      metric: config.td.metric,
      checkpoints,
      seed
    }
  },
  load: () => import("../stages/lm-trajectory.js").then((m) => m.lmTrajectoryStage)
})

const lmHeads = entry({
  name: "lm-heads",
  packages: ["model-runners", "task-generators", "artifacts", "core"],
  upstream: [lmModel, prompts],
  params: ({ config }, up) => ({
    fingerprint: up["lm-model"].fingerprint,
    mode: config.model.mode,
    batchSize: config.batchSize,
    shots: config.heads === null ? null : (config.heads.shots ?? config.taskVectors.shots),
    ablations: config.heads?.ablations ?? [],
    perConcept: config.heads?.perConcept ?? config.perConcept,
    labels: up.prompts.labels
  }),
  load: () => import("../stages/lm-heads.js").then((m) => m.lmHeadsStage)
})

const lmReport = entry({
  name: "lm-report",
  packages: ["reporters", "artifacts"],
  upstream: [lmModel, prompts, lmTd, taskVectors, lmTable1, lmTrajectory, lmHeads],
  params: ({ config, seed }, up) => ({
    family: familyOf(config),
    seed,
    promptingShots: config.promptingShots,
    taskVectorShots: config.taskVectors.shots,
    taskVectorLayer: up["task-vectors"].layer,
    replicates: config.taskVectors.replicates,
    minR2: 0.5
  }),
  load: () => import("../stages/lm-report.js").then((m) => m.lmReportStage)
})

export const llm = defineExperiment<LlmConfig>({
  name: "llm",
  description: "concept tasks (POS, bitwise) as ICL prompts for a causal LM: accuracy, TD per layer and shot count (the study's Part 2)",
  configSchema: LlmConfigSchema,
  entries: [lmModel, prompts, lmRun, lmTd, taskVectors, lmFinetune, lmTable1, lmTrajectory, lmHeads, lmReport],
  cells: (config) => config.families.flatMap((family) => config.seeds.map((seed) => ({ config: { ...config, families: [family] as [FamilyName] }, seed, label: family }))),
  configName: (config) => config.name,
  report: "lm-report",
  reportFile: "report.md",
  summarize: (config, reports, dir) => Effect.flatMap(Effect.promise(() => import("./llm-summary.js")), (m) => m.summarizeLlm(config, reports, dir))
})
