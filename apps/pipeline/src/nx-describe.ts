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
import { nxSuiteTargets, nxTargets } from "./experiment/nx-targets.js"
import { readSuite } from "./config/suite.js"

const name = process.env.CONCEPTSCOPE_CONFIG ?? DEFAULT_CONFIG
const root = path.resolve(appRoot(), "../..")
const fail = (e: unknown) => {
  process.stderr.write(`conceptscope: CONCEPTSCOPE_CONFIG: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
}
const load = async (m: string) => {
  const exit = await Effect.runPromiseExit(loadConfig(m))
  if (exit._tag === "Failure") return fail(exit.cause._tag === "Fail" ? exit.cause.error : exit.cause)
  return exit.value
}
let suite: ReturnType<typeof readSuite> = null
try {
  suite = readSuite(name)
} catch (e) {
  fail(e)
}
const targets = suite
  ? nxSuiteTargets(suite.file, await Promise.all(suite.members.map(load)), fingerprints(), root)
  : nxTargets(await load(name), fingerprints(), root)
process.stdout.write(JSON.stringify({ targets }))
