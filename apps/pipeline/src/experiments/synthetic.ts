import { Effect, Schema } from "effect"
import { defineExperiment, stageEntry } from "../experiment/table.js"
import { phaseSteps } from "../stages/shared/phases.js"
import { resolvePosition, type SyntheticConfig, SyntheticConfigSchema } from "./synthetic-config.js"

/**
 * The synthetic experiment (the study's Part 1): sparse linear regression mixtures whose latent
 * concept is the basis; a regression transformer trained on them; TD, embeddings and patching of its
 * residual streams; error vs number of examples; one report per seed.
 *
 *   evalset ─┬──────────── evaluate ───────────────────────┐
 *            │  train ──┬─ evaluate, curves, patch          ├─ report
 *   probeset ┴──────────┴─ extract ── probe ── embed ───────┘
 */
const entry = stageEntry<SyntheticConfig>()

const evalset = entry({
  name: "evalset",
  packages: ["task-generators", "artifacts"],
  upstream: [],
  params: ({ config, seed }) => ({ task: config.task, n: config.eval.sequences, seed: seed * 1000 + config.eval.seedOffset, balanced: true }),
  load: () => import("../stages/evalset.js").then((m) => m.evalsetStage)
})

const probeset = entry({
  name: "probeset",
  packages: ["task-generators", "artifacts"],
  upstream: [],
  params: ({ config, seed }) => ({ task: config.task, n: config.probe.perConcept * config.task.nBases, seed: seed * 1000 + config.probe.seedOffset, balanced: true }),
  load: () => import("../stages/probeset.js").then((m) => m.probesetStage)
})

const train = entry({
  name: "train",
  packages: ["task-generators", "model-runners", "finetuners", "artifacts"],
  upstream: [],
  params: ({ config, seed }) => ({ task: config.task, model: config.model, train: config.train, seed }),
  load: () => import("../stages/train.js").then((m) => m.trainStage)
})

const evaluate = entry({
  name: "evaluate",
  packages: ["model-runners", "finetuners", "artifacts"],
  upstream: [train, evalset],
  params: ({ config }) => ({ nBases: config.task.nBases, batchSize: config.compute.batchSize }),
  load: () => import("../stages/evaluate.js").then((m) => m.evaluateStage)
})

const extract = entry({
  name: "extract",
  packages: ["model-runners", "activation-store", "artifacts"],
  upstream: [train, probeset],
  params: ({ config }) => ({
    positions: [...new Set(config.probe.positions.map((p) => resolvePosition(p, config.task.nExamples)))].sort((a, b) => a - b) as [number, ...number[]],
    batchSize: config.compute.batchSize
  }),
  load: () => import("../stages/extract.js").then((m) => m.extractStage)
})

const probe = entry({
  name: "probe",
  packages: ["probes", "activation-store", "model-runners", "artifacts"],
  upstream: [extract],
  params: ({ config, seed }) => ({ nConcepts: config.task.nBases, k: config.probe.k, metric: config.probe.metric, linearProbe: config.probe.linearProbe, seed }),
  load: () => import("../stages/probe.js").then((m) => m.probeStage)
})

/** The layer the report shows: the configured one, or the peak-TD layer at the final checkpoint at the report position. */
const reportLayer = (config: SyntheticConfig, peaks: readonly { position: number; layer: number }[]) => {
  if (config.probe.reportLayer !== "auto") return config.probe.reportLayer
  const position = resolvePosition(config.probe.reportPosition, config.task.nExamples)
  return peaks.find((p) => p.position === position)?.layer ?? 0
}

const embed = entry({
  name: "embed",
  packages: ["probes", "activation-store", "model-runners", "artifacts"],
  upstream: [extract, probe, train],
  params: ({ config, seed }, up) => {
    const { early, middle, final } = phaseSteps(up.train.checkpointSteps)
    const marks = [{ step: early, phase: "early" as const }, { step: middle, phase: "middle" as const }, { step: final, phase: "final" as const }]
    return {
      layer: reportLayer(config, up.probe.peakLayers),
      position: resolvePosition(config.probe.reportPosition, config.task.nExamples),
      checkpoints: marks.filter((m, i) => marks.findIndex((x) => x.step === m.step) === i),
      nNeighbors: config.probe.umapNeighbors,
      minDist: config.probe.umapMinDist,
      seed
    }
  },
  load: () => import("../stages/embed.js").then((m) => m.embedStage)
})

/** Token indices the patching stage patches: every y token, every token, or the listed ones. */
const patchPositions = (config: SyntheticConfig): [number, ...number[]] => {
  const K = config.task.nExamples
  const p = config.patching.positions
  const list = p === "y-tokens" ? Array.from({ length: K }, (_, k) => 2 * k + 1) : p === "all" ? Array.from({ length: 2 * K }, (_, i) => i) : p.map((x) => resolvePosition(x, K))
  return list as [number, ...number[]]
}

const patch = entry({
  name: "patch",
  packages: ["interventions", "model-runners", "artifacts"],
  upstream: [train, probeset, evalset],
  params: ({ config }, up) => {
    // patching layer l changes only what layers > l read: "auto" patches every layer below the last
    const L = config.model.nLayers
    const { middle, final } = phaseSteps(up.train.checkpointSteps)
    return {
      layers: (config.patching.layer === "auto" ? Array.from({ length: Math.max(1, L - 1) }, (_, l) => l) : [config.patching.layer]) as [number, ...number[]],
      mode: config.patching.mode,
      positions: patchPositions(config),
      perConcept: config.patching.perConcept,
      nConcepts: config.task.nBases,
      checkpoints: middle === final ? [{ step: final, phase: "final" as const }] : [{ step: middle, phase: "middle" as const }, { step: final, phase: "final" as const }]
    }
  },
  load: () => import("../stages/patch.js").then((m) => m.patchStage)
})

const curves = entry({
  name: "curves",
  packages: ["task-generators", "model-runners", "artifacts"],
  upstream: [train, evalset],
  params: ({ config }, up) => ({
    task: config.task,
    step: up.train.checkpointSteps[up.train.checkpointSteps.length - 1],
    ridge: config.curves.ridge,
    lassoAlpha: config.curves.lassoAlpha,
    batchSize: config.compute.batchSize
  }),
  load: () => import("../stages/curves.js").then((m) => m.curvesStage)
})

const report = entry({
  name: "report",
  packages: ["reporters", "interventions", "probes", "artifacts"],
  upstream: [evalset, probeset, train, evaluate, extract, probe, embed, patch, curves],
  params: ({ config, seed }, up) => {
    const position = resolvePosition(config.probe.reportPosition, config.task.nExamples)
    return {
      title: `${config.name}, seed ${seed}`,
      configName: config.name,
      description: config.description,
      // the cell's own config: its seed, not the sweep's list (the report of a seed does not change with the grid)
      config: Schema.encodeSync(SyntheticConfigSchema)({ ...config, seeds: [seed] }),
      notes: config.notes,
      criteria: config.criteria,
      nConcepts: config.task.nBases,
      layer: reportLayer(config, up.probe.peakLayers),
      position,
      peakLayer: up.probe.peakLayers.find((p) => p.position === position)?.layer ?? 0
    }
  },
  load: () => import("../stages/report.js").then((m) => m.reportStage)
})

export const synthetic = defineExperiment<SyntheticConfig>({
  name: "synthetic",
  description: "sparse linear regression mixtures: a regression transformer's concept encoding and decoding (the study's Part 1)",
  configSchema: SyntheticConfigSchema,
  entries: [evalset, probeset, train, evaluate, extract, probe, embed, patch, curves, report],
  cells: (config) => config.seeds.map((seed) => ({ config, seed })),
  configName: (config) => config.name,
  report: "report",
  summarize: (config, reports, dir) => Effect.flatMap(Effect.promise(() => import("./synthetic-summary.js")), (m) => m.summarizeSeeds(config, reports, dir))
})
