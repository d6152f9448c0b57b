import type { StageKind } from "./plan.js"

/** The BullMQ queues: one per stage kind, so GPU machines can take only the stages that run a model. */
export const QUEUE_PREFIX = "conceptscope"
export const queueName = (kind: StageKind): string => `${QUEUE_PREFIX}-${kind}`
export const STAGE_KINDS: readonly StageKind[] = ["model", "cpu"]

/** What a stage job carries: enough for any worker to rebuild the cell and run the stage. */
export interface StageJobData {
  /** the experiment's name (EXPERIMENTS) */
  readonly experiment: string
  /** the config in its schema's encoded form (the producer's overrides applied) */
  readonly config: unknown
  /** the config file as errors name it */
  readonly file: string
  /** the cell's index in experiment.cells(config), with its seed and label as a check */
  readonly cell: number
  readonly seed: number
  readonly label: string | null
  readonly stage: string
  /** the stage's version with the hash of the producer's code: a worker built from other code refuses the job */
  readonly version: string
}

/** What a finished stage job returns. */
export interface StageJobResult {
  readonly key: string
  readonly cached: boolean
  readonly seconds: number
}

/** Retries: a stage that fails is tried this many times in all, with exponential backoff from BACKOFF_MS. */
export const ATTEMPTS = 3
export const BACKOFF_MS = 2000
