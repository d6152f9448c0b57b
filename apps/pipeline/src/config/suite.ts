import { ParamsError } from "@conceptscope/artifacts"
import * as fs from "node:fs"
import * as path from "node:path"
import { configPath } from "./load.js"

/**
 * A suite: configs that one command sweeps one after another, each with its own store and reports (the
 * embedded default `default.json`: the synthetic `quick` preset, then the LLM half on the embedded LM).
 * A suite file is `{ "suite": ["quick", "llm/embedded"], "description": "..." }`; members are preset names
 * or paths, as `--config` takes them.
 */
export interface Suite {
  /** the suite file, relative to the working directory */
  readonly file: string
  readonly description: string
  readonly members: readonly string[]
}

/** The suite a `--config` value names, or null when it names a plain config (or nothing readable: loadConfig reports that). */
export function readSuite(nameOrPath: string): Suite | null {
  let raw: unknown
  const abs = configPath(nameOrPath)
  try {
    raw = JSON.parse(fs.readFileSync(abs, "utf8").replace(/^\uFEFF/, ""))
  } catch {
    return null
  }
  if (raw === null || typeof raw !== "object" || !("suite" in raw)) return null
  const file = path.relative(process.cwd(), abs) || abs
  const { suite, description } = raw as { suite: unknown; description?: unknown }
  if (!Array.isArray(suite) || suite.length === 0 || !suite.every((m) => typeof m === "string" && m.length > 0))
    throw new ParamsError({ file, field: "suite", reason: "expected a non-empty list of config names or paths" })
  for (const k of Object.keys(raw)) if (k !== "suite" && k !== "description") throw new ParamsError({ file, field: k, reason: "a suite holds only suite and description" })
  return { file, description: typeof description === "string" ? description : "", members: suite as string[] }
}
