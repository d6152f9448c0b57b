// Local Nx plugin (Nx's inferred-targets convention, createNodesV2): the targets of apps/pipeline come
// from the experiment table of the config CONCEPTSCOPE_CONFIG names (default quick), so every stage of
// the table is an Nx target whose outputs lie under that config's store. The table is read from the
// TypeScript sources by apps/pipeline/src/nx-describe.ts, run through tsx.
import { execFileSync } from "node:child_process"
import * as path from "node:path"

export const createNodesV2 = [
  "apps/pipeline/package.json",
  async (files, _options, context) => {
    const out = execFileSync(process.execPath, ["--conditions=@conceptscope/source", "--import", "tsx", "apps/pipeline/src/nx-describe.ts"], {
      cwd: context.workspaceRoot,
      env: { ...process.env, CONCEPTSCOPE_QUIET: "1" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"]
    })
    const { targets } = JSON.parse(out)
    return files.map((file) => [file, { projects: { [path.dirname(file)]: { targets } } }])
  }
]
