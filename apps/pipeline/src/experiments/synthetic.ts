import { basisGroups } from "@conceptscope/task-generators"
import { Effect, Schema } from "effect"
import { defineExperiment, stageEntry } from "../experiment/table.js"
import { phaseCheckpoints, type TwoCluster } from "../stages/shared/phases.js"
import { cellTask, poolLabel, resolvePosition, type SyntheticConfig, SyntheticConfigSchema } from "./synthetic-config.js"

/**
 * The synthetic experiment (the study's Part 1): sparse linear regression mixtures whose latent
 * concept is the basis; a regression transformer trained on them; TD, embeddings and patching of its
 * residual streams; error vs number of examples; one report per seed.
 *
 *   evalset ─┬──────────── evaluate ─┬─ curves ──────────────────┐
 *            │  train ──┬─ evaluate   └─ patch, embed (two-cluster)  ├─ report
 *   probeset ┴──────────┴─ extract ── probe ─┴─ patch, embed ────────┘
 *
 * A cell's pool seed derives from its seed unless the config fixes one (`cellTask`).
 */
const entry = stageEntry<SyntheticConfig>()

const evalset = entry({
  name: "evalset",
  packages: ["task-generators", "artifacts"],
  upstream: [],
  params: ({ config, seed }) => ({ task: cellTask(config.task, seed), n: config.eval.sequences, seed: seed * 1000 + config.eval.seedOffset, balanced: true }),
  load: () => import("../stages/evalset.js").then((m) => m.evalsetStage)
})

const probeset = entry({
  name: "probeset",
  packages: ["task-generators", "artifacts"],
  upstream: [],
  params: ({ config, seed }) => ({ task: cellTask(config.task, seed), n: config.probe.perConcept * config.task.nBases, seed: seed * 1000 + config.probe.seedOffset, balanced: true }),
  load: () => import("../stages/probeset.js").then((m) => m.probesetStage)
})

const train = entry({
  name: "train",
  packages: ["task-generators", "model-runners", "finetuners", "artifacts"],
  upstream: [],
  params: ({ config, seed }) => ({ task: cellTask(config.task, seed), model: config.model, train: config.train, seed }),
  load: () => import("../stages/train.js").then((m) => m.trainStage)
})

const evaluate = entry({
  name: "evaluate",
  packages: ["model-runners", "finetuners", "artifacts"],
  upstream: [train, evalset],
  params: ({ config }) => ({ nBases: config.task.nBases, batchSize: config.compute.batchSize, ...config.twoCluster }),
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
  params: ({ config, seed }) => ({
    nConcepts: config.task.nBases,
    k: config.probe.k,
    metric: config.probe.metric,
    linearProbe: config.probe.linearProbe,
    selectionFraction: config.probe.selectionFraction,
    groups: config.task.layout === "overlapping" && !config.task.families ? Array.from(basisGroups(config.task)) : null,
    nLayers: config.model.nLayers,
    seed
  }),
  load: () => import("../stages/probe.js").then((m) => m.probeStage)
})

/**
 * The layer the report shows and how it was chosen: the configured one, or the layer with the highest
 * TD on the probe set's selection split at the final checkpoint at the report position (its headline TD
 * is then read on the held-out split).
 */
export const reportLayer = (config: SyntheticConfig, selected: readonly { position: number; layer: number }[]) => {
  if (config.probe.reportLayer !== "auto") return { layer: config.probe.reportLayer, chosenOn: "config" as const }
  const position = resolvePosition(config.probe.reportPosition, config.task.nExamples)
  return { layer: selected.find((p) => p.position === position)?.layer ?? 0, chosenOn: "selection split" as const }
}

const embed = entry({
  name: "embed",
  packages: ["probes", "activation-store", "model-runners", "artifacts"],
  upstream: [extract, probe, train, evaluate],
  params: ({ config, seed }, up) => ({
    layer: reportLayer(config, up.probe.selectedLayers).layer,
    position: resolvePosition(config.probe.reportPosition, config.task.nExamples),
    checkpoints: phaseCheckpoints(up.train.checkpointSteps, up.evaluate.twoCluster as TwoCluster, { early: true, middleFallback: true }),
    nNeighbors: config.probe.umapNeighbors,
    minDist: config.probe.umapMinDist,
    seed
  }),
  load: () => import("../stages/embed.js").then((m) => m.embedStage)
})

/** Token indices the patching stage patches: the query token (last x), every y token, every token, or the listed ones. */
const patchPositions = (config: SyntheticConfig): [number, ...number[]] => {
  const K = config.task.nExamples
  const p = config.patching.positions
  const list =
    p === "query" ? [2 * K - 2] : p === "y-tokens" ? Array.from({ length: K }, (_, k) => 2 * k + 1) : p === "all" ? Array.from({ length: 2 * K }, (_, i) => i) : p.map((x) => resolvePosition(x, K))
  return list as [number, ...number[]]
}

/**
 * The headline patching layer and how it was chosen: the configured layer, or the report layer (the
 * layer below it when the report layer is the last and the patch sits at the query token, where the
 * last layer's output is the read-out itself).
 */
export const patchingLayer = (config: SyntheticConfig, selected: readonly { position: number; layer: number }[]) => {
  if (config.patching.layer !== "report") return { layer: config.patching.layer, chosenOn: "config" as const }
  const L = config.model.nLayers
  const report = reportLayer(config, selected).layer
  return report === L - 1 && L > 1 && config.patching.positions === "query"
    ? { layer: L - 2, chosenOn: "report layer - 1 (the report layer is the last)" as const }
    : { layer: report, chosenOn: "report layer" as const }
}

const patch = entry({
  name: "patch",
  packages: ["interventions", "model-runners", "artifacts"],
  upstream: [train, probeset, evalset, evaluate, probe],
  params: ({ config }, up) => {
    // every layer below the last for the per-layer profile (patching layer l changes only what layers > l
    // read), plus the headline layer
    const L = config.model.nLayers
    const headline = patchingLayer(config, up.probe.selectedLayers).layer
    const layers = [...new Set([...Array.from({ length: Math.max(1, L - 1) }, (_, l) => l), headline])].sort((a, b) => a - b)
    return {
      layers: layers as [number, ...number[]],
      mode: config.patching.mode,
      positions: patchPositions(config),
      scoring: config.patching.positions === "query" ? ("query" as const) : ("after-first" as const),
      perConcept: config.patching.perConcept,
      nConcepts: config.task.nBases,
      checkpoints: phaseCheckpoints(up.train.checkpointSteps, up.evaluate.twoCluster as TwoCluster, { early: false, middleFallback: false })
    }
  },
  load: () => import("../stages/patch.js").then((m) => m.patchStage)
})

const curves = entry({
  name: "curves",
  packages: ["task-generators", "model-runners", "artifacts"],
  upstream: [train, evalset, evaluate],
  params: ({ config, seed }, up) => ({
    task: cellTask(config.task, seed),
    checkpoints: phaseCheckpoints(up.train.checkpointSteps, up.evaluate.twoCluster as TwoCluster, { early: true, middleFallback: true }),
    ridge: config.curves.ridge,
    lassoAlpha: config.curves.lassoAlpha,
    batchSize: config.compute.batchSize
  }),
  load: () => import("../stages/curves.js").then((m) => m.curvesStage)
})

/** Display names of the concepts (B1.. or the regression families). */
const conceptNames = (config: SyntheticConfig): string[] =>
  config.task.families ? [...config.task.families] : Array.from({ length: config.task.nBases }, (_, c) => `B${c + 1}`)

const heads = entry({
  name: "heads",
  packages: ["model-runners", "task-generators", "interventions", "artifacts", "core"],
  upstream: [train, probeset, evalset],
  params: ({ config }, up) => ({
    step: up.train.checkpointSteps[up.train.checkpointSteps.length - 1],
    perConcept: config.heads?.perConcept ?? 1,
    nConcepts: config.task.nBases,
    concepts: conceptNames(config),
    ablations: config.heads?.ablations ?? []
  }),
  load: () => import("../stages/heads.js").then((m) => m.headsStage)
})

/** The task in words (figure captions) and what its basis-knowing reference solves (null for regression families). */
export function describeTask(config: SyntheticConfig): { task: string; oracle: string | null } {
  const t = config.task
  const pool = t.weightPool.kind === "fresh" ? "a fresh w per sequence" : t.weightPool.size === 1 ? "one fixed w per concept" : `a pool of ${t.weightPool.size} w per concept`
  if (t.families) return { task: `a mixture of ${t.families.join(", ")} regression in D = ${t.dim}, ${pool}, K = ${t.nExamples}`, oracle: null }
  return { task: `${t.nBases} ${t.layout} rank-${t.rank} bases in D = ${t.dim}, ${pool}, K = ${t.nExamples}`, oracle: `a ${t.rank}-dim Bayesian ridge regression` }
}

const report = entry({
  name: "report",
  packages: ["reporters", "interventions", "probes", "artifacts"],
  upstream: [evalset, probeset, train, evaluate, extract, probe, embed, patch, curves, heads],
  params: ({ config, seed, label }, up) => {
    const K = config.task.nExamples
    const position = resolvePosition(config.probe.reportPosition, K)
    const query = 2 * K - 2
    const chosen = reportLayer(config, up.probe.selectedLayers)
    const queryChosen =
      position === query || config.probe.reportLayer !== "auto"
        ? chosen
        : { layer: up.probe.selectedLayers.find((p) => p.position === query)?.layer ?? 0, chosenOn: "selection split" as const }
    const patching = patchingLayer(config, up.probe.selectedLayers)
    const { task, oracle } = describeTask(config)
    const { grid: _grid, ...cellConfig } = config
    return {
      title: `${config.name}${label ? ` ${label}` : ""}, seed ${seed}`,
      configName: config.name,
      description: config.description,
      // the cell's own config: its seed and grid point, not the sweep's lists (a cell's report does not change with the grid)
      config: Schema.encodeSync(SyntheticConfigSchema)({ ...cellConfig, seeds: [seed], task: cellTask(config.task, seed) }),
      notes: config.notes,
      criteria: (({ couplingSurrogates: _n, ...c }) => c)(config.criteria),
      concepts: conceptNames(config),
      taskDescription: task,
      oracleDescription: oracle,
      position,
      layer: chosen.layer,
      layerChosenOn: chosen.chosenOn,
      queryPosition: query,
      queryLayer: queryChosen.layer,
      queryLayerChosenOn: queryChosen.chosenOn,
      patchingLayer: patching.layer,
      patchingLayerChosenOn: patching.chosenOn,
      patchingPositions: typeof config.patching.positions === "string" ? config.patching.positions : config.patching.positions.join(","),
      twoCluster: up.evaluate.twoCluster as TwoCluster,
      groups: config.task.layout === "overlapping" && !config.task.families ? Array.from(basisGroups(config.task)) : null,
      couplingSurrogates: config.criteria.couplingSurrogates,
      seed,
      nExamples: K
    }
  },
  load: () => import("../stages/report.js").then((m) => m.reportStage)
})

export const synthetic = defineExperiment<SyntheticConfig>({
  name: "synthetic",
  description: "sparse linear regression mixtures: a regression transformer's concept encoding and decoding (the study's Part 1)",
  configSchema: SyntheticConfigSchema,
  entries: [evalset, probeset, train, evaluate, extract, probe, embed, patch, curves, heads, report],
  cells: (config) =>
    config.grid
      ? config.grid.weightPools.flatMap((weightPool) => config.seeds.map((seed) => ({ config: { ...config, task: { ...config.task, weightPool } }, seed, label: poolLabel(weightPool) })))
      : config.seeds.map((seed) => ({ config, seed })),
  configName: (config) => config.name,
  report: "report",
  summarize: (config, reports, dir) => Effect.flatMap(Effect.promise(() => import("./synthetic-summary.js")), (m) => m.summarizeSeeds(config, reports, dir))
})
