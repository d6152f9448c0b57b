import { type ArtifactRef, ParamsError, type StageResult, runStage } from "@conceptscope/artifacts"
import { Effect } from "effect"
import { type Config, resolvePosition } from "./config"
import { datasetStage } from "./stages/dataset"
import { embedStage } from "./stages/embed"
import { errorCurvesStage } from "./stages/error-curves"
import { extractStage } from "./stages/extract"
import { stageCheckpoints, readCheckpoints } from "./stages/model-io"
import { patchStage } from "./stages/patch"
import { probeStage, readTD } from "./stages/probe"
import { trainStage } from "./stages/train"
import { versioned } from "./code-version"
import { STAGE_ORDER, type StageName } from "./stage-names"

// Each stage's version carries the hash of the code it runs (the packages it uses and its stage file).
const stages = {
  dataset: versioned(datasetStage, ["core", "task-generators", "artifacts"], "dataset.ts"),
  train: versioned(trainStage, ["core", "task-generators", "model-runners", "kernels", "finetuners", "artifacts"], "train.ts"),
  extract: versioned(extractStage, ["core", "model-runners", "kernels", "activation-store", "artifacts"], "extract.ts"),
  probe: versioned(probeStage, ["core", "probes", "activation-store", "artifacts"], "probe.ts"),
  embed: versioned(embedStage, ["core", "probes", "activation-store", "artifacts"], "embed.ts"),
  patch: versioned(patchStage, ["core", "interventions", "model-runners", "kernels", "artifacts"], "patch.ts"),
  curves: versioned(errorCurvesStage, ["core", "task-generators", "model-runners", "kernels", "artifacts"], "error-curves.ts")
}

export { STAGE_ORDER, type StageName }

export interface CellResult {
  readonly seed: number
  readonly results: Partial<Record<Exclude<StageName, "report">, StageResult>>
  readonly reportLayer?: number
  readonly reportPosition: number
}

const reached = (until: StageName, s: StageName) => STAGE_ORDER.indexOf(s) <= STAGE_ORDER.indexOf(until)

/**
 * One cell of a sweep (one seed of one config): every stage through the artifact store, so a rerun
 * is a chain of cache hits and a changed parameter recomputes only what depends on it.
 * Seeds: every random choice of the cell derives from `seed` (data, init, batches, probes).
 */
export const runCell = (config: Config, seed: number, until: StageName, file: string) =>
  Effect.gen(function* () {
    const K = config.task.nExamples
    const positions = [...new Set(config.probe.positions.map((p) => resolvePosition(p, K)))].sort((a, b) => a - b)
    const reportPosition = resolvePosition(config.probe.reportPosition, K)
    const results: CellResult["results"] = {}
    const out = (): CellResult => ({ seed, results, reportPosition })
    const run = <E, Rq>(name: Exclude<StageName, "report">, eff: Effect.Effect<StageResult, E, Rq>) =>
      Effect.tap(eff, (r) => Effect.sync(() => (results[name] = r)))

    const evalSet = yield* run("data", runStage(stages.dataset, { task: config.task, n: config.eval.sequences, seed: seed * 1000 + 1, balanced: true }, {}, file))
    const probeSet = yield* runStage(stages.dataset, { task: config.task, n: config.probe.perConcept * config.task.nBases, seed: seed * 1000 + 2, balanced: true }, {}, file)
    if (!reached(until, "train")) return out()
    const trainParams = { task: config.task, model: config.model, train: config.train, seed }
    const train = yield* run("train", runStage(stages.train, trainParams, { eval: evalSet.ref }, file))
    if (!reached(until, "extract")) return out()
    const acts = yield* run("extract", runStage(stages.extract, { positions, batchSize: 256 }, { run: train.ref, probe: probeSet.ref }, file))
    if (!reached(until, "probe")) return out()
    const C = config.task.nBases
    const probe = yield* run("probe", runStage(stages.probe, { nConcepts: C, k: config.probe.k, metric: config.probe.metric, linearProbe: config.probe.linearProbe, seed }, { activations: acts.ref }, file))
    const td = yield* readTD(probe.ref)
    const steps = (yield* readCheckpoints(train.ref)).map((c) => c.step)
    const { early, middle, final } = stageCheckpoints(steps)
    const reportLayer = config.probe.reportLayer === "auto" ? bestLayer(td, final, reportPosition) : config.probe.reportLayer
    if (reportLayer >= config.model.nLayers) {
      return yield* Effect.fail(new ParamsError({ file, field: "probe.reportLayer", reason: `${reportLayer} is not a layer of a ${config.model.nLayers}-layer model` }))
    }
    const withLayer = (): CellResult => ({ ...out(), reportLayer })
    if (!reached(until, "embed")) return withLayer()
    const marks = [{ step: early, stage: "early" as const }, { step: middle, stage: "middle" as const }, { step: final, stage: "final" as const }]
    const uniqueMarks = marks.filter((m, i) => marks.findIndex((x) => x.step === m.step) === i)
    yield* run("embed", runStage(stages.embed, { layer: reportLayer, position: reportPosition, checkpoints: uniqueMarks, nNeighbors: config.probe.umapNeighbors, minDist: config.probe.umapMinDist, seed }, { activations: acts.ref }, file))
    if (!reached(until, "patch")) return withLayer()
    // Patching layer l changes only what layers > l read: "auto" patches every layer below the last (the
    // report leads with the layer where patching hurts most); with y-token positions the last layer's
    // outputs are read by nothing, so patching them is a no-op and an explicit last layer is refused.
    const L = config.model.nLayers
    const patchLayers = config.patching.layer === "auto" ? Array.from({ length: Math.max(1, L - 1) }, (_, l) => l) : [config.patching.layer]
    const explicit = config.patching.layer
    if (explicit !== "auto" && explicit >= L) return yield* Effect.fail(new ParamsError({ file, field: "patching.layer", reason: `${explicit} is not a layer of a ${L}-layer model` }))
    if (explicit === L - 1 && config.patching.positions === "y-tokens" && L > 1) {
      return yield* Effect.fail(new ParamsError({ file, field: "patching.layer", reason: `${explicit} is the last layer: no later layer reads its y-token outputs, so patching them cannot change a prediction` }))
    }
    const T = 2 * K
    const patchPositions =
      config.patching.positions === "y-tokens" ? Array.from({ length: K }, (_, k) => 2 * k + 1)
      : config.patching.positions === "all" ? Array.from({ length: T }, (_, i) => i)
      : config.patching.positions.map((p) => (p < 0 ? T + p : p))
    const patchMarks = middle === final ? [{ step: final, stage: "final" as const }] : [{ step: middle, stage: "middle" as const }, { step: final, stage: "final" as const }]
    yield* run("patch", runStage(stages.patch, { layers: patchLayers as [number, ...number[]], mode: config.patching.mode, positions: patchPositions, perConcept: config.patching.perConcept, nConcepts: C, checkpoints: patchMarks }, { run: train.ref, probe: probeSet.ref, eval: evalSet.ref }, file))
    if (!reached(until, "curves")) return withLayer()
    yield* run("curves", runStage(stages.curves, { task: config.task, ridge: 0.1, lassoAlpha: 0.01, batchSize: 256 }, { run: train.ref, eval: evalSet.ref }, file))
    return withLayer()
  })

/** The layer (blocks.l.hook_resid_post, 0 <= l < below) with the highest TD at `step` and `position`; earliest on ties. */
export function bestLayer(td: readonly { step: number; layer: number; position: number; td: number }[], step: number, position: number, below = Infinity): number {
  let best = 0
  let bestTd = -Infinity
  for (const r of td)
    if (r.step === step && r.position === position && r.layer >= 0 && r.layer < below && (r.td > bestTd || (r.td === bestTd && r.layer < best))) {
      best = r.layer
      bestTd = r.td
    }
  return best
}

export type { ArtifactRef }
