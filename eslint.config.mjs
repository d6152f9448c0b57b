// ESLint (flat config). Its job is the layering of the workspace: Nx's enforce-module-boundaries rule
// checks every import of a workspace package (@conceptscope/*) against the `nx.tags` of the package.json
// files, lowest layer first:
//   layer:core       packages/core, packages/safetensors
//   layer:artifacts  packages/artifacts
//   layer:runtime    packages/kernels, packages/model-runners
//   layer:stage      packages/task-generators, activation-store, probes, interventions, finetuners, reporters
//   layer:app        apps/pipeline
//   layer:tools      tools
// Beside it only cheap syntactic rules run (ESLint's and typescript-eslint's recommended sets, without type
// information), so `npm run lint` stays fast.
import js from "@eslint/js"
import { createProjectGraphAsync } from "@nx/devkit"
import nxPlugin from "@nx/eslint-plugin"
import tseslint from "typescript-eslint"

// The rule reads Nx's cached project graph (.nx/workspace-data) and is silently skipped when there is none,
// or works from a stale one (tags, imports). Build it afresh here, so that plain `eslint .`, the Node API
// (tools/test/lint-boundaries.test.ts) and CI all check against the current tree. A broken graph
// (e.g. the local Nx plugin failing) makes the lint fail rather than pass unchecked.
await createProjectGraphAsync({ exitOnError: false })

const sources = [
  "packages/*/src/**/*.ts",
  "packages/*/test/**/*.ts",
  "apps/*/src/**/*.ts",
  "apps/*/test/**/*.ts",
  "tools/**/*.ts",
  "**/*.mjs"
]
const tests = ["packages/*/test/**/*.ts", "apps/*/test/**/*.ts", "tools/test/**/*.ts"]
// The few Node globals the .mjs build scripts use (TypeScript files are checked by tsc instead: no-undef is
// off for them in typescript-eslint's recommended set).
const nodeGlobals = Object.fromEntries(
  ["process", "console", "Buffer", "URL", "setTimeout", "clearTimeout", "setInterval", "clearInterval"].map((g) => [g, "readonly"])
)

export default [
  {
    ignores: ["**/dist/**", "**/node_modules/**", "packages/kernels/build/**", ".nx/**", ".conceptscope/**", "tmp/**"]
  },
  // The recommended sets, kept to the linted files (typescript-eslint's TS-only part to the .ts ones).
  ...[js.configs.recommended, ...tseslint.configs.recommended].map((config) => ({
    ...config,
    files: config.files ? sources.filter((glob) => glob.endsWith(".ts")) : sources
  })),
  {
    files: sources,
    languageOptions: {
      parser: tseslint.parser,
      ecmaVersion: "latest",
      sourceType: "module",
      globals: nodeGlobals
    },
    linterOptions: {
      reportUnusedDisableDirectives: "error"
    },
    plugins: {
      "@nx": nxPlugin
    },
    rules: {
      "@nx/enforce-module-boundaries": [
        "error",
        {
          // Defaults kept: circular dependencies between projects, relative imports that cross into
          // another project and imports of a project by its own package name are all errors.
          allow: [],
          depConstraints: [
            { sourceTag: "layer:core", onlyDependOnLibsWithTags: ["layer:core"] },
            { sourceTag: "layer:artifacts", onlyDependOnLibsWithTags: ["layer:core"] },
            { sourceTag: "layer:runtime", onlyDependOnLibsWithTags: ["layer:core", "layer:runtime"] },
            // No stage package imports another stage package today; add "layer:stage" here when one must.
            { sourceTag: "layer:stage", onlyDependOnLibsWithTags: ["layer:core", "layer:artifacts", "layer:runtime"] },
            {
              sourceTag: "layer:app",
              onlyDependOnLibsWithTags: ["layer:core", "layer:artifacts", "layer:runtime", "layer:stage", "layer:app"]
            },
            { sourceTag: "layer:tools", onlyDependOnLibsWithTags: ["*"] }
          ]
        }
      ],
      // A package is used through its entry point (package.json `exports`), never through its files.
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@conceptscope/*/*", "!@conceptscope/*/package.json"],
              message: "Import a workspace package through its entry point (@conceptscope/<name>), not its files."
            },
            {
              group: ["hyparquet/*", "hyparquet-writer/*", "!hyparquet/package.json", "!hyparquet-writer/package.json"],
              message: "Import hyparquet / hyparquet-writer through their entry points, not their internals."
            }
          ]
        }
      ],
      // The recommended sets, as the code already follows them: `_` marks a deliberately unused name,
      // and an empty `catch {}` is a deliberate "best effort".
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", ignoreRestSiblings: true }
      ],
      "no-empty": ["error", { allowEmptyCatch: true }]
    }
  },
  {
    // Tests may cast with `any` (fixtures, malformed inputs); a disable comment for it there is harmless.
    files: tests,
    linterOptions: { reportUnusedDisableDirectives: "off" },
    rules: { "@typescript-eslint/no-explicit-any": "off" }
  }
]
