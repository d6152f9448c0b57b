import { decodeParams, ParamsError } from "@conceptscope/artifacts"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Config, ConfigSchema } from "./config"

export const CONFIG_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../configs")
/** The embedded default of `nx run pipeline:sweep`. */
export const DEFAULT_CONFIG = path.join(CONFIG_DIR, "quick.json")

/** A bare name ("emergence") means a shipped preset in apps/pipeline/configs; anything else is a path. */
export function configPath(nameOrPath: string): string {
  if (!nameOrPath.includes("/") && !nameOrPath.endsWith(".json")) return path.join(CONFIG_DIR, `${nameOrPath}.json`)
  return path.resolve(nameOrPath)
}

/**
 * Apply `key.path=value` overrides (nanoGPT style) to a parsed config: the value is parsed as JSON
 * when it can be (numbers, booleans, arrays, objects) and taken as a string otherwise.
 */
export function applyOverrides(raw: unknown, overrides: readonly string[], file: string): Effect.Effect<unknown, ParamsError> {
  return Effect.try({
    try: () => {
      const out = structuredClone(raw) as Record<string, unknown>
      for (const o of overrides) {
        const eq = o.indexOf("=")
        if (eq <= 0) throw new ParamsError({ file: "--set", field: o, reason: "expected key.path=value" })
        const keys = o.slice(0, eq).split(".")
        const text = o.slice(eq + 1)
        let value: unknown
        try {
          value = JSON.parse(text)
        } catch {
          value = text
        }
        let node = out
        for (const k of keys.slice(0, -1)) {
          if (typeof node[k] !== "object" || node[k] === null) node[k] = {}
          node = node[k] as Record<string, unknown>
        }
        node[keys[keys.length - 1]] = value
      }
      return out
    },
    catch: (e) => (e instanceof ParamsError ? e : new ParamsError({ file, field: "--set", reason: String(e) }))
  })
}

/** Read, parse, override and validate a config file. Every failure names the file, the field and the reason. */
export const loadConfig = (nameOrPath: string, overrides: readonly string[] = []): Effect.Effect<{ config: Config; file: string }, ParamsError> =>
  Effect.gen(function* () {
    const file = configPath(nameOrPath)
    const rel = path.relative(process.cwd(), file) || file
    const text = yield* Effect.try({
      try: () => fs.readFileSync(file, "utf8"),
      catch: (e) => new ParamsError({ file: rel, field: "(file)", reason: (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(e) })
    })
    const raw = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => new ParamsError({ file: rel, field: "(json)", reason: (e as Error).message })
    })
    const withOverrides = yield* applyOverrides(raw, overrides, rel)
    const config = yield* decodeParams(ConfigSchema, withOverrides, rel)
    const { warmupSteps } = config.train.lrSchedule
    if (warmupSteps >= config.train.steps) {
      return yield* Effect.fail(new ParamsError({ file: rel, field: "train.lrSchedule.warmupSteps", reason: `${warmupSteps} is not below train.steps (${config.train.steps})` }))
    }
    return { config, file: rel }
  })
