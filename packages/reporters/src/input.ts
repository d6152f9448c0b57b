/**
 * What a report is drawn from: plain data the pipeline read from stored artifacts. Nothing here
 * runs a model. Every array may be empty; the matching section then says it was not run.
 */
import type { Summary } from "./summary.js"

/** One evaluation of the per-basis test loss during training. */
export interface LossPoint {
  step: number
  /** index into `ReportInput.concepts` */
  concept: number
  /** normalised test MSE of that basis (MSE / Var(y)) */
  nmse: number
}

/** Task decodability at one checkpoint and layer (layer -1 = embedding, l = blocks.{l}.hook_resid_post). */
export interface TdPoint {
  step: number
  layer: number
  /** mean of perConcept, in [0, 1] */
  td: number
  /** [concept] leave-one-out kNN accuracy of each concept */
  perConcept: number[]
}

/**
 * Where in training a checkpoint lies: early (first after step 0), two-cluster (detected from the
 * per-basis loss: some concepts learned, others not), middle (the median saved step, when no two-cluster
 * stage was detected) and final.
 */
export type Phase = "early" | "middle" | "two-cluster" | "final"
export const PHASE_ORDER: readonly Phase[] = ["early", "middle", "two-cluster", "final"]
export type EmbeddingMethod = "umap" | "pca"

/** A 2-D projection of the reported layer's activations at one checkpoint. */
export interface Embedding {
  step: number
  phase: Phase
  method: EmbeddingMethod
  /** [point] 2-D coordinates with the concept index of the input sequence */
  points: { x: number; y: number; concept: number }[]
}

/** Activation patching at one checkpoint and layer. */
export interface PatchingResult {
  step: number
  phase: Phase
  layer: number
  /** [source][target] nmse on source-basis inputs after patching in the target basis' mean activation */
  matrix: number[][]
  /** [source] nmse of source-basis inputs without any patch */
  unpatched: number[]
}

/** Error of one solver after k in-context examples. Several rows with the same (k, method) are averaged. */
export interface ErrorAtK {
  k: number
  /** "model (<phase>, step <n>)" for the trained model at a checkpoint, or a reference solver's name */
  method: string
  nmse: number
}

/** Pairwise TD: TD computed on two concepts at a time. */
export interface PairwiseTd {
  step: number
  layer: number
  /** [concept][concept]; non-finite cells (e.g. the diagonal) are left blank */
  matrix: number[][]
}

export interface LinearProbePoint {
  step: number
  layer: number
  /** held-out accuracy of a linear concept classifier, in [0, 1] */
  testAcc: number
}


export interface ReportInput {
  title: string
  configName: string
  configDescription: string
  /** shown as JSON in a collapsible "parameters" block */
  params: unknown
  /** display names of the concepts, e.g. ["B1","B2","B3","B4"] */
  concepts: string[]
  /** "layer l" = blocks.{l}.hook_resid_post */
  reportedLayer: number
  /** the task in words for captions, e.g. "4 disjoint rank-2 bases in D = 8, one fixed w per basis" */
  taskDescription: string
  /** what the basis-knowing reference solves, e.g. "a 2-dim Bayesian ridge regression"; null when the task has none */
  oracleDescription: string | null
  lossCurves: LossPoint[]
  tdCurves: TdPoint[]
  embeddings: Embedding[]
  patching: PatchingResult[]
  errorVsK: ErrorAtK[]
  pairwiseTD?: PairwiseTd[]
  linearProbe?: LinearProbePoint[]
  /** written as summary.json (through the `Summary` schema) */
  summary: Summary
  /** honest statements about what this run does / does not show; rendered prominently */
  notes: string[]
}

/** Display name of concept index `i` (falls back to "#i" outside the list). */
export const conceptName = (concepts: readonly string[], i: number): string => concepts[i] ?? `#${i}`

/** Display name of a layer: -1 is the embedding. */
export const layerName = (layer: number): string => (layer === -1 ? "embed" : `L${layer}`)
