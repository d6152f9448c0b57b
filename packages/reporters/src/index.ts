export type {
  Embedding,
  EmbeddingMethod,
  EmbeddingStage,
  ErrorAtK,
  LinearProbePoint,
  LossPoint,
  PairwiseTd,
  PatchingResult,
  ReportInput,
  StageTiming,
  TdPoint
} from "./input"
export { conceptName, layerName } from "./input"
export { JsonSafeNumber, Summary, type SummaryEncoded, decodeSummaryJson, encodeSummaryJson } from "./summary"
export { FigureRenderError, ReportWriteError, SummaryDecodeError } from "./errors"
export { FIGURES, type FigureDef, type VlSpec } from "./figures"
export { lossTdSpec } from "./figures/loss-td"
export { tdHeatmapSpec } from "./figures/td-heatmap"
export { embeddingsSpec } from "./figures/embeddings"
export { patchingSpec } from "./figures/patching"
export { errorVsKSpec } from "./figures/error-vs-k"
export { pairwiseTdSpec } from "./figures/pairwise-td"
export { linearProbeSpec } from "./figures/linear-probe"
export {
  DEFAULT_FONT_FILES,
  type FigureFonts,
  type PngOptions,
  type RenderedSvg,
  compactSvgNumbers,
  loadFigureFonts,
  namespaceSvgIds,
  specToSvg,
  svgToPng
} from "./render"
export { type FontMetrics, type FontPair, loadFontMetrics, parseFontMetrics } from "./font-metrics"
export { renderHtml } from "./html"
export { renderMarkdown } from "./markdown"
export type { RenderedFigure } from "./rendered"
export { type RenderOptions, type ReportPaths, renderReport, renderReportEffect } from "./report"
export {
  type EmergenceCriteria,
  type SeedAggregate,
  type SeedCheck,
  type SeedMetric,
  aggregateSeeds,
  defaultEmergenceCriteria,
  median,
  seedAggregateJson,
  seedAggregateMarkdown
} from "./seed-aggregate"
