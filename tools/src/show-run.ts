/**
 * Print one synthetic run's curves, checkpoint by checkpoint: per-basis test NMSE (evaluate), and the
 * TD at the report layer and position (mean, per concept, held-out), read from the store through the
 * artifact keys of a report's summary.json. For research logs:
 *
 *   npx tsx --conditions=@conceptscope/source tools/src/show-run.ts <report dir> <store>
 */
import { lossByStep, readTD, readTrainingCurves } from "@conceptscope/pipeline"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"

const [reportDir, store] = process.argv.slice(2)
if (!reportDir || !store) {
  console.error("usage: show-run.ts <report dir> <store>")
  process.exit(1)
}
const summary = JSON.parse(fs.readFileSync(path.join(reportDir, "summary.json"), "utf8"))
const ref = (stage: string) => {
  const [kind, key] = (summary.artifactKeys[stage] as string).split("/")
  const dir = path.join(store, kind, key)
  return { kind, key, dir, manifest: JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) }
}
const main = Effect.gen(function* () {
  const loss = lossByStep(yield* readTrainingCurves(ref("evaluate")))
  const td = yield* readTD(ref("probe"))
  const { layer, position } = summary.td
  const f = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "  -  " : x.toFixed(3))
  console.log(`step | per-basis NMSE | TD layer ${layer} pos ${position}: mean (per concept) held-out`)
  for (const step of [...new Set(loss.map((l) => l.step))]) {
    const t = td.find((r) => r.step === step && r.layer === layer && r.position === position)
    console.log(`${step} | ${loss.filter((l) => l.step === step).map((l) => f(l.nmse)).join(" ")} | ${f(t?.td)} (${t?.perConcept.map(f).join(" ")}) ${f(t?.tdHeldOut)}`)
  }
})
Effect.runPromise(main as Effect.Effect<void, unknown>).catch((e) => {
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`)
  process.exit(1)
})
