/**
 * Prints the Nx targets of the config named by CONCEPTSCOPE_CONFIG (default: quick) as JSON, for the
 * local Nx plugin (tools/nx-plugin/experiments.mjs), which runs it from the sources:
 *   node --conditions=@conceptscope/source --import tsx apps/pipeline/src/nx-describe.ts
 */
import { Effect } from "effect"
import * as path from "node:path"
import { appRoot } from "./config/app-root.js"
import { DEFAULT_CONFIG, loadConfig } from "./config/load.js"
import { fingerprints } from "./experiment/code-version.js"
import { nxTargets } from "./experiment/nx-targets.js"

const exit = await Effect.runPromiseExit(loadConfig(process.env.CONCEPTSCOPE_CONFIG ?? DEFAULT_CONFIG))
if (exit._tag === "Failure") {
  const e = exit.cause._tag === "Fail" ? exit.cause.error : exit.cause
  process.stderr.write(`conceptscope: CONCEPTSCOPE_CONFIG: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
}
process.stdout.write(JSON.stringify({ targets: nxTargets(exit.value, fingerprints(), path.resolve(appRoot(), "../..")) }))
