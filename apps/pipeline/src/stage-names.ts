/** The stages of one sweep cell, in order. `--until` stops after the named one. (No imports: the CLI loads it at start.) */
export const STAGE_ORDER = ["data", "train", "extract", "probe", "embed", "patch", "curves", "report"] as const
export type StageName = (typeof STAGE_ORDER)[number]
