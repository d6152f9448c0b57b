import { type ArtifactRef, defineStage, writeJson } from "@conceptscope/artifacts"
import * as r from "@conceptscope/reporters"
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { stageTry } from "./shared/io.js"
import { CellSummary, type FamilySummary, familyFindings, LmTdSummary } from "./shared/llm-summary.js"
import { HeadsSummary, heldOutFrom, readModelMeta, readLmAccuracy, readLmEmbeddings, readLmTd, readPrompts, readVectors, Table1Summary, TrajectorySummary } from "./shared/llm-tables.js"
import { studyComparisonMarkdown } from "./shared/study-llama.js"

/**
 * One family's report: `summary.json` (CellSummary: the `llm.<family>` numbers and the study's claims as
 * held or not) and `report.md` (the same as tables, beside the study's Llama-3.1-8B numbers), built from
 * the stored tables alone.
 */
export const LmReportParams = Schema.Struct({
  family: Schema.String,
  seed: Schema.Int,
  promptingShots: Schema.NullOr(Schema.Int),
  taskVectorShots: Schema.Int,
  /** the layer the task vectors were taken from and added at (task-vectors' metadata) */
  taskVectorLayer: Schema.Int,
  replicates: Schema.Int,
  minR2: Schema.Number
})

const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length)
const sd = (xs: readonly number[]) => {
  const m = mean(xs)
  return xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)) : 0
}
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "n/a")

/** How many prompts of a condition and shot count the held-out TD is measured on (lm-td: items from half the prompts per label on). */
const heldOutPoints = (prompts: readonly { readonly item: number; readonly shots: number; readonly instructed: boolean }[], shots: number, instructed: boolean) => {
  const half = heldOutFrom(prompts)
  return prompts.filter((p) => p.instructed === instructed && p.shots === shots && p.item >= half).length
}

export const lmReportStage = defineStage({
  name: "lm-report",
  version: "3",
  schemaVersion: 1,
  params: LmReportParams,
  meta: Schema.Struct({}),
  run: ({
    params,
    inputs,
    dir
  }: {
    params: typeof LmReportParams.Type
    inputs: { "lm-model": ArtifactRef; prompts: ArtifactRef; "lm-td": ArtifactRef; "task-vectors": ArtifactRef; "lm-table1": ArtifactRef; "lm-trajectory": ArtifactRef; "lm-heads": ArtifactRef }
    dir: string
  }) =>
    Effect.gen(function* () {
      const model = yield* readModelMeta("lm-report", inputs["lm-model"])
      const tdSummary = yield* stageTry("lm-report", () => Schema.decodeUnknownSync(LmTdSummary)(JSON.parse(fs.readFileSync(path.join(inputs["lm-td"].dir, "summary.json"), "utf8"))))
      const prompts = yield* readPrompts(inputs.prompts)
      const labels = tdSummary.labels
      const concepts = labels.slice(0, -1)
      const td = yield* readLmTd(inputs["lm-td"], labels.length)
      const acc = yield* readLmAccuracy(inputs["lm-td"])
      const vectors = yield* readVectors(inputs["task-vectors"])
      const embeddings = yield* readLmEmbeddings(inputs["lm-td"])
      const peak = tdSummary.peakLayer
      const shots = [...new Set(prompts.filter((p) => !p.instructed).map((p) => p.shots))].sort((a, b) => a - b)
      const at = (condition: string, s: number, layer = peak) => td.find((r) => r.condition === condition && r.shots === s && r.layer === layer)!
      const accOf = (condition: string, s: number, label: string) => acc.find((a) => a.condition === condition && a.shots === s && a.label === label)!.accuracy
      const meanAcc = (condition: string, s: number) => mean(concepts.map((l) => accOf(condition, s, l)))
      const perConcept = shots.flatMap((s) => concepts.map((label, c) => ({ label, shots: s, td: at("icl", s).per_concept_heldout[c], accuracy: accOf("icl", s, label) })))
      const layers = [...new Set(td.map((r) => r.layer))].sort((a, b) => a - b)
      // task vectors: change of accuracy per concept over replicates; halves by held-out TD at the layer intervened on
      const tvTd = (label: string) => at("icl", params.taskVectorShots, params.taskVectorLayer).per_concept_heldout[labels.indexOf(label)]
      const combos = [...new Set(vectors.map((v) => `${v.mode}:${v.sign}`))]
      const effects = combos.flatMap((combo) => {
        const [mode, sign] = combo.split(":")
        return concepts.map((label) => {
          const d = vectors.filter((v) => v.mode === mode && v.sign === sign && v.label === label).map((v) => v.accuracy - v.accuracy_base)
          return { mode, sign, label, td: tvTd(label), meanChange: mean(d), sdChange: sd(d) }
        })
      })
      const byTd = [...concepts].sort((a, b) => tvTd(b) - tvTd(a))
      const high = new Set(byTd.slice(0, Math.floor(byTd.length / 2)))
      const halves = combos.map((combo) => {
        const [mode, sign] = combo.split(":")
        const mine = effects.filter((e) => e.mode === mode && e.sign === sign)
        return { mode, sign, highTd: mean(mine.filter((e) => high.has(e.label)).map((e) => e.meanChange)), lowTd: mean(mine.filter((e) => !high.has(e.label)).map((e) => e.meanChange)) }
      })
      const t1 = yield* stageTry("lm-report", () => Schema.decodeUnknownSync(Table1Summary)(JSON.parse(fs.readFileSync(path.join(inputs["lm-table1"].dir, "table1.json"), "utf8"))))
      const table1 =
        t1.rows.length === 0
          ? null
          : {
              shots: t1.shots,
              layer: t1.pretrainedPeak,
              rows: Object.fromEntries(
                t1.rows.map((r) => [
                  r.name,
                  { layers: r.layers, tdMean: r.tdAtPretrainedPeak.mean, tdSpread: r.tdAtPretrainedPeak.spread, accuracyMean: r.accuracy.mean, accuracySpread: r.accuracy.spread, ownPeak: r.ownPeak, tdOwnPeakMean: r.tdAtOwnPeak.mean }
                ])
              ),
              unchangedBelow: t1.unchangedBelow.map(({ variant, firstTrainedLayer, maxAbsDiff, tdMaxDiff }) => ({ variant, firstTrainedLayer, maxAbsDiff, tdMaxDiff }))
            }
      const traj = yield* stageTry("lm-report", () => Schema.decodeUnknownSync(TrajectorySummary)(JSON.parse(fs.readFileSync(path.join(inputs["lm-trajectory"].dir, "trajectory.json"), "utf8"))))
      const trajectory = traj.steps.length === 0 ? null : traj
      const hs = yield* stageTry("lm-report", () => Schema.decodeUnknownSync(HeadsSummary)(JSON.parse(fs.readFileSync(path.join(inputs["lm-heads"].dir, "heads.json"), "utf8"))))
      const heads = hs.modes.length === 0 ? null : hs
      const ps = params.promptingShots
      const base: Omit<FamilySummary, "findings"> = {
        peakLayer: peak,
        peakChosenOn: tdSummary.peakChosenOn,
        nLayers: model.nLayers,
        td: Object.fromEntries(shots.map((s) => [String(s), at("icl", s).td_heldout])),
        tdHeldOutPoints: heldOutPoints(prompts, shots[0], false),
        accuracy: Object.fromEntries(shots.map((s) => [String(s), meanAcc("icl", s)])),
        perConcept,
        tdAccuracyR2: tdSummary.tdAccuracy.r2,
        tdAccuracyFit: { slope: tdSummary.tdAccuracy.slope, intercept: tdSummary.tdAccuracy.intercept, points: tdSummary.tdAccuracy.points },
        tdByLayer: Object.fromEntries(shots.map((s) => [String(s), layers.map((l) => at("icl", s, l).td)])),
        taskVectors: { layer: params.taskVectorLayer, shots: params.taskVectorShots, replicates: params.replicates, perConcept: effects, halves },
        prompting: ps === null ? null : { shots: ps, td: at("instructed", ps).td_heldout, accuracy: meanAcc("instructed", ps), iclTd: at("icl", ps).td_heldout, iclAccuracy: meanAcc("icl", ps), heldOutPoints: heldOutPoints(prompts, ps, true) },
        table1,
        trajectory,
        heads
      }
      const summary = { ...base, findings: familyFindings(params.family, base, params.minR2) }
      const cell = { family: params.family, seed: params.seed, model: { dir: model.dir, fingerprint: model.fingerprint, modelType: model.modelType }, llm: { [params.family]: summary } }
      yield* writeJson(CellSummary, dir, "summary.json", cell)
      // figures, from the numbers above only
      const name = `${params.family}, ${model.modelType}`
      // one panel per condition and shot count: plain ICL by shots, then the prompting condition
      const panelKeys = [...new Map(embeddings.map((e) => [`${e.condition}:${e.shots}`, { condition: e.condition, shots: e.shots }])).values()].sort(
        (a, b) => Number(a.condition !== "icl") - Number(b.condition !== "icl") || a.shots - b.shots
      )
      const umapPanels = panelKeys.map(({ condition, shots: s }) => ({
        title: `${condition === "icl" ? "ICL" : "concept named"}, ${r.shotsLabel(s)}`,
        points: embeddings.filter((e) => e.condition === condition && e.shots === s).map((e) => ({ x: e.x, y: e.y, label: labels[e.label] }))
      }))
      const specs: [string, r.VlSpec][] = [
        ["td-by-layer", r.llmTdByLayerSpec(base.tdByLayer, layers, peak, 1 / labels.length, `${name}: TD at the token before the answer`)],
        ["td-accuracy", r.llmTdAccuracySpec(perConcept, tdSummary.tdAccuracy, concepts, `${name}: accuracy against TD`)],
        ["umap", r.llmEmbeddingSpec(umapPanels, labels, `${name}: UMAP at layer ${peak}, token before the answer`)],
        ["pairwise-td", r.llmPairwiseSpec(tdSummary.pairwise, labels, `${name}: pairwise TD at layer ${peak}`)],
        ["task-vectors", r.llmVectorsSpec(effects, concepts, `${name}: task vectors at layer ${params.taskVectorLayer}, ${r.shotsLabel(params.taskVectorShots)}`)],
        ...(table1 === null
          ? []
          : ([["table1", r.llmTable1Spec(table1Bars(t1, concepts), concepts, t1.rows.map((x) => x.name), `${name}: LoRA on the first vs the last layers, ${r.shotsLabel(t1.shots)}`)]] as [string, r.VlSpec][])),
        ...(trajectory === null
          ? []
          : ([["trajectory", r.llmTrajectorySpec(trajectoryPoints(trajectory), `${name}: over training checkpoints, ${r.shotsLabel(trajectory.shots)}, TD at layer ${trajectory.layer}`)]] as [string, r.VlSpec][])),
        ...(heads === null
          ? []
          : heads.modes.map(
              (m) =>
                [`heads-${m.ablation}`, r.headImportanceSpec(m.perConcept.map((p) => ({ title: p.label, change: p.lossChange })), `${name}: answer loss change when one head is ${m.ablation}-ablated, ${r.shotsLabel(heads.shots)}`)] as [string, r.VlSpec]
            ))
      ]
      const fonts = r.loadFigureFonts()
      yield* stageTry("lm-report", () => fs.mkdirSync(path.join(dir, "figures")))
      for (const [fig, spec] of specs) {
        const svg = yield* r.specToSvg(fig, spec, fonts)
        const png = yield* r.svgToPng(fig, svg.svg, { fonts })
        yield* stageTry("lm-report", () => {
          fs.writeFileSync(path.join(dir, "figures", `${fig}.svg`), svg.svg)
          fs.writeFileSync(path.join(dir, "figures", `${fig}.png`), png)
        })
      }
      const md = [
        `# ${params.family}, seed ${params.seed}: ${model.modelType} at ${model.dir}`,
        "",
        `Peak layer ${peak} of 0..${model.nLayers - 1} (${tdSummary.peakChosenOn}); TD below is held-out TD there.`,
        "",
        "| shots | mean TD | mean accuracy |",
        "|---|---|---|",
        ...shots.map((s) => `| ${s} | ${f3(base.td[s])} | ${f3(base.accuracy[s])} |`),
        "",
        `| concept | ${shots.map((s) => `${r.shotsLabel(s)} (TD, acc)`).join(" | ")} |`,
        `|---|${shots.map(() => "---").join("|")}|`,
        ...concepts.map((l) => `| ${l} | ${shots.map((s) => { const p = perConcept.find((x) => x.label === l && x.shots === s)!; return `${f3(p.td)}, ${f3(p.accuracy)}` }).join(" | ")} |`),
        "",
        `TD-accuracy fit over concepts x shots: R^2 ${f3(base.tdAccuracyR2)} (slope ${f3(base.tdAccuracyFit.slope)}, ${base.tdAccuracyFit.points} points).`,
        "",
        `Task vectors at layer ${params.taskVectorLayer}, ${params.taskVectorShots}-shot prompts, ${params.replicates} replicates (accuracy change, mean +- sd):`,
        "",
        "| mode | sign | higher-TD half | lower-TD half |",
        "|---|---|---|---|",
        ...halves.map((h) => `| ${h.mode} | ${h.sign} | ${f3(h.highTd)} | ${f3(h.lowTd)} |`),
        "",
        ...(table1 === null ? [] : table1Markdown(t1)),
        ...(trajectory === null ? [] : trajectoryMarkdown(trajectory)),
        ...(heads === null ? [] : headsMarkdown(heads)),
        ...specs.map(([fig]) => `![${fig}](figures/${fig}.png)`),
        "",
        ...(params.family === "pos" || params.family === "bitwise"
          ? [
              "## Beside the study",
              "",
              ...studyComparisonMarkdown(params.family, { modelType: model.modelType, nLayers: model.nLayers, peakLayer: peak, shots, td: base.td, r2: base.tdAccuracyR2, perConcept, halves })
            ]
          : []),
        "",
        "## Findings",
        "",
        ...summary.findings.map((f) => `- ${f.held === null ? "not tested" : f.held ? "held" : "not held"}: ${f.claim} (${f.numbers})`),
        ""
      ].join("\n")
      yield* stageTry("lm-report", () => fs.writeFileSync(path.join(dir, "report.md"), md))
      return { rowCount: 1, meta: {} }
    })
})

/** Per-concept bars of Table 1: TD at the pretrained peak and accuracy, per model. */
function table1Bars(t: Table1Summary, concepts: readonly string[]): r.LlmTable1Bar[] {
  return t.rows.flatMap((row) =>
    concepts.flatMap((label, c) => [
      { variant: row.name, label, measure: `TD at layer ${t.pretrainedPeak}`, value: row.tdAtPretrainedPeak.perConcept[c] },
      { variant: row.name, label, measure: "accuracy", value: row.accuracy.perConcept[c] }
    ])
  )
}

/** Table 1 as the study prints it (mean +- spread over concepts), and the check that layers before the trained range did not change. */
function table1Markdown(t: Table1Summary): string[] {
  const pm = (x: { mean: number; spread: number }) => `${f3(x.mean)} +- ${f3(x.spread)}`
  return [
    `## Table 1: LoRA on the first vs the last layers (${t.shots} shots)`,
    "",
    `TD is held-out TD at the pretrained model's peak layer ${t.pretrainedPeak}, and at each model's own peak; mean +- sd over concepts.`,
    "",
    "| model | trained layers | TD at layer " + t.pretrainedPeak + " | own peak: layer, TD | accuracy |",
    "|---|---|---|---|---|",
    ...t.rows.map((x) => `| ${x.name} | ${x.layers ? x.layers.join(", ") : "-"} | ${pm(x.tdAtPretrainedPeak)} | ${x.ownPeak}, ${pm(x.tdAtOwnPeak)} | ${pm(x.accuracy)} |`),
    "",
    ...t.unchangedBelow.map((u) =>
      u.firstTrainedLayer === 0
        ? `- ${u.variant} trains layer 0: no earlier layer to check.`
        : `- ${u.variant} trains layers from ${u.firstTrainedLayer}: the residual stream at layers 0..${u.firstTrainedLayer - 1} differs from the pretrained model's by at most ${u.maxAbsDiff.toExponential(2)}, and TD there by at most ${u.tdMaxDiff.toExponential(2)} (a layer before the trained range cannot change).`
    ),
    ""
  ]
}

function trajectoryPoints(t: TrajectorySummary): r.LlmTrajectoryPoint[] {
  return t.steps.flatMap((step, i) => [
    { step, measure: "TD", mean: t.tdMean[i], spread: t.tdSpread[i] },
    { step, measure: "accuracy", mean: t.accuracyMean[i], spread: t.accuracySpread[i] }
  ])
}

function trajectoryMarkdown(t: TrajectorySummary): string[] {
  const c = t.coupling
  const step = (x: number | null) => (x === null ? "never" : String(Math.round(x)))
  return [
    `## Over training checkpoints (${t.shots} shots)`,
    "",
    `Held-out TD at the final model's peak layer ${t.layer} and accuracy, mean +- sd over concepts; each checkpoint's own peak layer.`,
    "",
    "| step | TD | accuracy | own peak |",
    "|---|---|---|---|",
    ...t.steps.map((s, i) => `| ${s} | ${f3(t.tdMean[i])} +- ${f3(t.tdSpread[i])} | ${f3(t.accuracyMean[i])} +- ${f3(t.accuracySpread[i])} | ${t.ownPeak[i]} |`),
    "",
    c === null
      ? "Fewer than 3 checkpoints: no coupling statistics."
      : `Coupling of the concept means (the synthetic arm's statistics, accuracy in the place of the negated loss): accuracy rises halfway at step ${step(c.lossHalfStep)}, TD at ${step(c.tdHalfStep)} (lag ${step(c.lagSteps)}, p ${f3(c.lagPValue ?? NaN)} against circular shifts); increment correlation ${f3(c.rateCorrelation)}, p ${f3(c.pValue)} against phase-randomised surrogates.`,
    ""
  ]
}

function headsMarkdown(h: HeadsSummary): string[] {
  return [
    `## Head importance (${h.shots} shots)`,
    "",
    "Each head of each layer ablated alone at every position; the change of the answer's loss (-log p) per concept. The head whose ablation hurts each concept most:",
    "",
    `| concept | ${h.modes.map((m) => `${m.ablation}: head, loss change`).join(" | ")} |`,
    `|---|${h.modes.map(() => "---").join("|")}|`,
    ...h.concepts.map((c) => `| ${c} | ${h.modes.map((m) => { const t = m.topHead.find((x) => x.label === c)!; return `L${t.layer}H${t.head}, ${f3(t.lossChange)}` }).join(" | ")} |`),
    ""
  ]
}
