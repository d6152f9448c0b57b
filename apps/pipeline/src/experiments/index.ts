import type { Experiment } from "../experiment/table.js"
import { llm } from "./llm.js"
import { synthetic } from "./synthetic.js"

/** Every experiment the pipeline runs, by the name a config's `experiment` field gives (default "synthetic"). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const EXPERIMENTS: Readonly<Record<string, Experiment<any>>> = { synthetic, llm }

export const DEFAULT_EXPERIMENT = "synthetic"
