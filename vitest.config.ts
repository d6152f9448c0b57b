import { defineConfig } from "vitest/config"

// Workspace packages resolve to their TypeScript sources (the "@conceptscope/source" export condition),
// so tests never run a stale build.
const conditions = ["@conceptscope/source", "module", "node", "import", "default"]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["@conceptscope/source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "apps/*/test/**/*.test.ts", "tools/test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2
  }
})
