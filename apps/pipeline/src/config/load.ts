import { decodeParams, ParamsError } from "@conceptscope/artifacts"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Experiment } from "../experiment/table.js"
import { DEFAULT_EXPERIMENT, EXPERIMENTS } from "../experiments/index.js"
import { appRoot } from "./app-root.js"
import { applyOverrides } from "./overrides.js"

/** The shipped presets. */
export const configDir = () => path.join(appRoot(), "configs")
/** A config's store when none is named: $CONCEPTSCOPE_STORE, else .conceptscope/store/<config name>. */
export const defaultStore = (configName: string): string => process.env.CONCEPTSCOPE_STORE ?? path.join(".conceptscope", "store", configName)

/** The embedded default of `nx run pipeline:sweep`: a suite (config/suite.ts), quick then the LLM half on the embedded LM. */
export const DEFAULT_CONFIG = "default"

/**
 * A name without ".json" ("emergence", "llm/llama-3.1-8b") means a shipped preset in apps/pipeline/configs
 * (a name with "/" only when that preset exists); anything else is a path.
 */
export function configPath(nameOrPath: string): string {
  if (!nameOrPath.endsWith(".json")) {
    const preset = path.join(configDir(), `${nameOrPath}.json`)
    if (!nameOrPath.includes("/") || fs.existsSync(preset)) return preset
  }
  return path.resolve(nameOrPath)
}

export interface LoadedConfig<C = unknown> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly experiment: Experiment<any>
  readonly config: C
  /** the config file, relative to the working directory, as errors name it */
  readonly file: string
}

/** The first number that is not finite (1e999 parses to Infinity), with its dotted path. */
function firstNonFinite(v: unknown, at = ""): { field: string; value: number } | null {
  if (typeof v === "number") return Number.isFinite(v) ? null : { field: at || "(root)", value: v }
  if (v === null || typeof v !== "object") return null
  for (const [k, x] of Object.entries(v)) {
    const found = firstNonFinite(x, at ? `${at}.${k}` : k)
    if (found) return found
  }
  return null
}

const reason = (e: unknown) => (e instanceof Error ? e.message.split("\n")[0] : String(e))

/**
 * Read, parse, override and validate a config file against its experiment's schema (every cross-field
 * check included). Every failure names the file, the field and the reason.
 */
export const loadConfig = (nameOrPath: string, overrides: readonly string[] = []): Effect.Effect<LoadedConfig, ParamsError> =>
  Effect.gen(function* () {
    const abs = yield* Effect.try({ try: () => configPath(nameOrPath), catch: (e) => new ParamsError({ file: nameOrPath, field: "(file)", reason: reason(e) }) })
    const file = path.relative(process.cwd(), abs) || abs
    const text = yield* Effect.try({
      try: () => fs.readFileSync(abs, "utf8"),
      catch: (e) => new ParamsError({ file, field: "(file)", reason: (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : reason(e) })
    })
    // a UTF-8 byte order mark is not part of the JSON
    const raw = yield* Effect.try({ try: () => JSON.parse(text.replace(/^\uFEFF/, "")) as unknown, catch: (e) => new ParamsError({ file, field: "(json)", reason: reason(e) }) })
    if (raw === null || typeof raw !== "object" || Array.isArray(raw))
      return yield* Effect.fail(new ParamsError({ file, field: "(root)", reason: `expected a JSON object (a config), got ${Array.isArray(raw) ? "a list" : JSON.stringify(raw)}` }))
    if ("suite" in raw)
      return yield* Effect.fail(new ParamsError({ file, field: "suite", reason: "this file is a suite of configs, not one config: sweep, validate and verify take it, other uses need one member" }))
    const withOverrides = yield* Effect.try({
      try: () => applyOverrides(raw, overrides),
      catch: (e) => (e instanceof ParamsError ? e : new ParamsError({ file: "--set", field: "(override)", reason: reason(e) }))
    })
    const nonFinite = firstNonFinite(withOverrides)
    if (nonFinite) return yield* Effect.fail(new ParamsError({ file, field: nonFinite.field, reason: `${nonFinite.value} is not a finite number` }))
    const name = (withOverrides as { experiment?: unknown }).experiment ?? DEFAULT_EXPERIMENT
    const experiment = typeof name === "string" ? EXPERIMENTS[name] : undefined
    if (!experiment) return yield* Effect.fail(new ParamsError({ file, field: "experiment", reason: `${JSON.stringify(name)} is not an experiment (${Object.keys(EXPERIMENTS).join(", ")})` }))
    const config = yield* decodeParams(experiment.configSchema, withOverrides, file)
    return { experiment, config, file }
  })
