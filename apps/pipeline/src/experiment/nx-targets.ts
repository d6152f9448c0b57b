import * as path from "node:path"
import type { LoadedConfig } from "../config/load.js"
import { type Fingerprints, stageFiles, withDependencies } from "./code-version.js"
import { type AnyEntry, stagesThrough } from "./table.js"

/** An Nx target as the local plugin (tools/nx-plugin) hands it to Nx. */
export interface NxTarget {
  readonly executor: "nx:run-commands"
  readonly options: { readonly command: string }
  readonly cache: boolean
  readonly dependsOn: readonly string[]
  readonly inputs: readonly (string | { readonly env: string })[]
  readonly outputs: readonly string[]
  readonly metadata: { readonly description: string }
}

const CLI = "node apps/pipeline/bin/conceptscope.mjs"
/** Environment variables that change what a stage computes (or where the config comes from). */
const ENV = ["CONCEPTSCOPE_CONFIG", "CONCEPTSCOPE_BACKEND", "CONCEPTSCOPE_NATIVE", "CONCEPTSCOPE_FUSED_ATTENTION", "CONCEPTSCOPE_BLAS"]

/**
 * The Nx targets of a config, derived from its experiment's table: one per stage (`nx run
 * pipeline:<stage>` runs the sweep through that stage), `sweep` (everything, reports copied out) and
 * `build`. A stage target's inputs are the code of the stage and of every stage it needs (their files
 * and packages, as the code-version hashes see them), the runner's own files, the config file and
 * the environment; its outputs are the stage's folder in the config's store, so two configs never
 * share an Nx cache entry.
 */
export function nxTargets(loaded: LoadedConfig, fp: Fingerprints, root: string): Record<string, NxTarget> {
  const { experiment, config, file } = loaded
  const name = experiment.configName(config)
  const configFile = path.relative(root, path.resolve(file))
  const byName = new Map((experiment.entries as readonly AnyEntry<unknown>[]).map((e) => [e.name, e]))
  const runner = Object.keys(fp.files).filter((f) => !f.startsWith(`stages${path.sep}`)).map((f) => `{workspaceRoot}/apps/pipeline/src/${f}`)
  const common = [
    `{workspaceRoot}/${configFile}`,
    ...ENV.map((env) => ({ env })),
    ...runner,
    "{workspaceRoot}/apps/pipeline/build.mjs",
    "{workspaceRoot}/apps/pipeline/bin/conceptscope.mjs",
    "{workspaceRoot}/package-lock.json"
  ]
  const stageInputs = (stage: string) => {
    const needed = stagesThrough(experiment, stage)
    const files = needed.flatMap((s) => {
      const source = byName.get(s)!.source
      return source !== undefined ? [path.relative(root, source)] : stageFiles(fp, s).map((f) => `apps/pipeline/src/${f}`)
    })
    const packages = withDependencies(fp, [...new Set(needed.flatMap((s) => byName.get(s)!.packages))])
    return [
      ...common,
      ...[...new Set(files)].sort().map((f) => `{workspaceRoot}/${f}`),
      ...packages.flatMap((p) => [`{workspaceRoot}/packages/${p}/src/**/*`, `{workspaceRoot}/packages/${p}/native/**/*`, `{workspaceRoot}/packages/${p}/*.mjs`])
    ]
  }
  const store = `{workspaceRoot}/.conceptscope/store/${name}`
  const reports = `{workspaceRoot}/.conceptscope/reports/${name}`
  const targets: Record<string, NxTarget> = {}
  for (const e of byName.values()) {
    targets[e.name] = {
      executor: "nx:run-commands",
      options: { command: `${CLI} sweep --until ${e.name}` },
      cache: true,
      dependsOn: ["build", ...(e.upstream as readonly AnyEntry<unknown>[]).map((u) => u.name)],
      inputs: stageInputs(e.name),
      outputs: [`${store}/${e.name}`, ...(e.name === experiment.report ? [reports] : [])],
      metadata: { description: `Stage '${e.name}' of experiment ${experiment.name} for config ${name} (and the stages it needs); cached by Nx and by the artifact store` }
    }
  }
  targets.sweep = {
    executor: "nx:run-commands",
    options: { command: `${CLI} sweep` },
    cache: true,
    dependsOn: ["build", experiment.report],
    inputs: stageInputs(experiment.report),
    outputs: [reports],
    metadata: { description: `Every stage of config ${name} (CONCEPTSCOPE_CONFIG, default quick) and its reports in .conceptscope/reports/${name}` }
  }
  targets.build = {
    executor: "nx:run-commands",
    options: { command: "npm run build" },
    cache: true,
    dependsOn: [],
    inputs: [
      "{workspaceRoot}/packages/*/src/**/*",
      "{workspaceRoot}/packages/*/native/**/*",
      "{workspaceRoot}/packages/*/*.mjs",
      "{workspaceRoot}/packages/*/package.json",
      "{workspaceRoot}/packages/*/tsconfig.build.json",
      "{workspaceRoot}/tsconfig.base.json",
      "{workspaceRoot}/tsconfig.build.json",
      "{workspaceRoot}/apps/pipeline/src/**/*",
      "{workspaceRoot}/apps/pipeline/build.mjs",
      "{workspaceRoot}/package-lock.json"
    ],
    outputs: ["{workspaceRoot}/packages/*/dist", "{workspaceRoot}/apps/pipeline/dist"],
    metadata: { description: "Compile every package (tsc -b: JavaScript and declarations in packages/*/dist) and bundle the CLI (apps/pipeline/dist)" }
  }
  return targets
}

/**
 * The Nx targets of a suite (config/suite.ts): every member's stage targets (their names do not collide:
 * a stage name belongs to one experiment; a later member's stage of the same name would replace an
 * earlier one's, so the suite refuses that), `build`, and one `sweep` that runs the members in order,
 * depends on each member's report and has the union of their inputs (plus the suite file) and outputs.
 */
export function nxSuiteTargets(suiteFile: string, members: readonly LoadedConfig[], fp: Fingerprints, root: string): Record<string, NxTarget> {
  const targets: Record<string, NxTarget> = {}
  const sweeps: NxTarget[] = []
  for (const loaded of members) {
    const { sweep, ...rest } = nxTargets(loaded, fp, root)
    for (const [name, t] of Object.entries(rest)) {
      if (name !== "build" && targets[name]) throw new Error(`${suiteFile}: stage ${name} appears in two members`)
      targets[name] = t
    }
    sweeps.push(sweep)
  }
  const union = <T>(xs: readonly T[]) => [...new Map(xs.map((x) => [JSON.stringify(x), x])).values()]
  targets.sweep = {
    executor: "nx:run-commands",
    options: { command: `${CLI} sweep` },
    cache: true,
    dependsOn: union(sweeps.flatMap((s) => s.dependsOn)),
    inputs: union([`{workspaceRoot}/${path.relative(root, path.resolve(suiteFile))}`, ...sweeps.flatMap((s) => s.inputs)]),
    outputs: union(sweeps.flatMap((s) => s.outputs)),
    metadata: { description: `Every stage of ${members.map((m) => m.experiment.configName(m.config)).join(", then ")} (the suite ${suiteFile}) and their reports` }
  }
  return targets
}
