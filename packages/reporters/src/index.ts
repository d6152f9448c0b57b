export type {
  Embedding,
  EmbeddingMethod,
  Phase,
  ErrorAtK,
  LinearProbePoint,
  LossPoint,
  PairwiseTd,
  PatchingResult,
  ReportInput,

  TdPoint
} from "./input.js"
export { Summary, type SummaryEncoded, decodeSummaryJson, encodeSummaryJson } from "./summary.js"
export { FigureRenderError, ReportWriteError, SummaryDecodeError } from "./errors.js"
export { FIGURES, type FigureDef, type VlSpec } from "./figures/index.js"
export { lossTdSpec } from "./figures/loss-td.js"
export { tdHeatmapSpec } from "./figures/td-heatmap.js"
export { embeddingsSpec } from "./figures/embeddings.js"
export { patchingSpec } from "./figures/patching.js"
export { errorVsKSpec } from "./figures/error-vs-k.js"
export { pairwiseTdSpec } from "./figures/pairwise-td.js"
export { linearProbeSpec } from "./figures/linear-probe.js"
export { type DiversityPoint, diversitySpec } from "./figures/diversity.js"
export { shotsLabel, llmEmbeddingSpec, llmPairwiseSpec, llmTdAccuracySpec, headImportanceSpec, llmTable1Spec, llmTdByLayerSpec, llmTrajectorySpec, llmVectorsSpec, type HeadImportancePanel, type LlmConceptPoint, type LlmEmbeddingPanel, type LlmTable1Bar, type LlmTrajectoryPoint, type LlmVectorEffect } from "./figures/llm.js"
export {
  DEFAULT_FONT_FILES,
  type FigureFonts,
  type PngOptions,
  type RenderedSvg,
  loadFigureFonts,
  specToSvg,
  svgToPng
} from "./render.js"
export { type RenderOptions, type ReportPaths, renderReport, renderReportEffect } from "./report.js"
export {
  type EmergenceCriteria,
  type SeedAggregate,
  type SeedCheck,
  type SeedMetric,
  aggregateSeeds,
  median,
  PATCH_OFF_BASELINE,
  TD_FINAL,
  TD_FIRST,
  seedAggregateJson,
  seedAggregateMarkdown
} from "./seed-aggregate.js"
