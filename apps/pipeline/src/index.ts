/**
 * @conceptscope/pipeline: the experiments as typed stage tables, the cell runner and the sweep.
 * The CLI (`conceptscope`) is src/main.ts.
 */
export { type AnyEntry, type Cell, defineExperiment, type Experiment, PACKAGE_NAMES, type PackageName, type StageEntry, stageEntry, stagesThrough } from "./experiment/table.js"
export { type CellFailure, type CellResult, runCell } from "./experiment/run-cell.js"
export { codeVersion, computeFingerprints, fingerprints, type Fingerprints, stageFiles, withDependencies } from "./experiment/code-version.js"
export { applyOverrides } from "./config/overrides.js"
export { configDir, configPath, DEFAULT_CONFIG, type LoadedConfig, loadConfig } from "./config/load.js"
export { DEFAULT_EXPERIMENT, EXPERIMENTS } from "./experiments/index.js"
export { synthetic } from "./experiments/synthetic.js"
export { cellTask, positionIndex, resolvePosition, type SyntheticConfig, SyntheticConfigSchema, syntheticConfigIssues } from "./experiments/synthetic-config.js"
export { type FailedCell, InProcessExecutor, type SweepCells, SweepCellsFailed, SweepExecutor, type SweepExecutorService, type SweepRun } from "./executor.js"
export { sweep, type SweepOptions, type SweepOutcome } from "./sweep.js"
export { BackendStartError, TensorBackend, TensorBackendLive, useTensorBackend } from "./backend.js"
export { readEmbeddings, readErrorCurves, readPatching, readTD, readTrainingCurves } from "./stages/shared/tables.js"
export { basisCoupling, findings, groupPairwise, lossByStep, patchingNumbers } from "./stages/shared/report-input.js"
export { detectTwoCluster, phaseCheckpoints } from "./stages/shared/phases.js"
export { type LocalRedis, redisWanted, startRedis } from "./queue/local-redis.js"
