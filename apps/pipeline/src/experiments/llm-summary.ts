import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { CellSummary } from "../stages/shared/llm-summary.js"
import type { LlmConfig } from "./llm-config.js"
import { jsonWithNonFinite, writeAtomic } from "./summary-files.js"

type Reports = readonly { readonly seed: number; readonly label?: string; readonly dir: string }[]

class LlmSummaryError extends Error {
  readonly _tag = "LlmSummaryError"
}

/**
 * Across the cells of an LLM sweep (one per family and seed): `summary.json` in `dir` with
 * `llm.<family>` for every family and `llm.findings[]` (every family's claims, held or not), one such
 * object per seed under `seeds` when the sweep has several; and `summary.md` listing the findings.
 */
export const summarizeLlm = (_config: LlmConfig, reports: Reports, dir: string) =>
  Effect.try({
    try: () => {
      const cells = reports.map((r) => {
        const file = path.join(r.dir, "summary.json")
        return Schema.decodeUnknownSync(CellSummary)(JSON.parse(fs.readFileSync(file, "utf8")))
      })
      const seeds = [...new Set(cells.map((c) => c.seed))].sort((a, b) => a - b)
      const bySeed = seeds.map((seed) => {
        const mine = cells.filter((c) => c.seed === seed)
        const llm: Record<string, unknown> = {}
        for (const c of mine) Object.assign(llm, c.llm)
        const findings = mine.flatMap((c) => Object.values(c.llm).flatMap((f) => f.findings))
        // head importance per family under heads.llm (the synthetic experiment's under heads.synthetic)
        const heads = Object.fromEntries(mine.flatMap((c) => Object.entries(c.llm).flatMap(([family, f]) => (f.heads ? [[family, f.heads]] : []))))
        return { seed, model: mine[0]?.model, llm: { ...llm, findings }, ...(Object.keys(heads).length > 0 ? { heads: { llm: heads } } : {}) }
      })
      const out = seeds.length === 1 ? bySeed[0] : { seeds: bySeed }
      writeAtomic(path.join(dir, "summary.json"), jsonWithNonFinite(out))
      const lines = bySeed.flatMap((s) => [
        `## seed ${s.seed}`,
        "",
        ...s.llm.findings.map((f) => `- ${f.held === null ? "not tested" : f.held ? "held" : "not held"}: ${f.id}: ${f.claim} (${f.numbers})`),
        ""
      ])
      writeAtomic(path.join(dir, "summary.md"), ["# LLM half: the study's claims on this model", "", ...lines].join("\n"))
      const all = bySeed.flatMap((s) => s.llm.findings)
      return { path: path.join(dir, "summary.json"), line: `${all.filter((f) => f.held).length} of ${all.length} findings held` }
    },
    catch: (e) => new LlmSummaryError(e instanceof Error ? e.message : String(e))
  })
