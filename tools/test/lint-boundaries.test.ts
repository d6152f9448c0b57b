import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { ESLint } from "eslint"
import { describe, expect, it } from "vitest"

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const RULE = "@nx/enforce-module-boundaries"

/**
 * The layering of eslint.config.mjs (Nx's enforce-module-boundaries rule over the `nx.tags` of the
 * package.json files) seen from the outside: an import that points back up the layers is an error, one
 * that points down is not. The probe files do not exist; ESLint lints the text as if it were at that
 * path, and the rule finds the project from the path (the config builds Nx's project graph first).
 */
describe("eslint module boundaries", () => {
  const eslint = new ESLint({ cwd: ROOT })
  const boundaryErrors = async (code: string, filePath: string) => {
    const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, filePath) })
    expect(result.messages.filter((m) => m.fatal)).toEqual([])
    return result.messages.filter((m) => m.ruleId === RULE && m.severity === 2)
  }

  it("rejects an import from a lower layer into a higher one", async () => {
    const errors = await boundaryErrors('import "@conceptscope/reporters"\n', "packages/safetensors/src/__probe.ts")
    expect(errors).toHaveLength(1)
    expect(errors[0].message).toContain('tagged with "layer:core"')
  })

  it("rejects an import from a runtime package into a stage package", async () => {
    const errors = await boundaryErrors('import "@conceptscope/probes"\n', "packages/model-runners/src/__probe.ts")
    expect(errors).toHaveLength(1)
  })

  it("accepts an import that points down the layers", async () => {
    expect(await boundaryErrors('import "@conceptscope/core"\n', "packages/probes/src/__probe.ts")).toEqual([])
    expect(await boundaryErrors('import "@conceptscope/model-runners"\n', "packages/finetuners/src/__probe.ts")).toEqual([])
  })
})
