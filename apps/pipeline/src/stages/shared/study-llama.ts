import { shotsLabel } from "@conceptscope/reporters"

/**
 * The study's Part 2 numbers for Llama-3.1-8B (base, 32 layers), from ../shared/reference/study.md, set
 * beside a run's own in the LLM report. Accuracy is greedy exact match in [0, 1] (the study gives percent).
 */
export interface StudyFamilyReference {
  readonly model: string
  readonly nLayers: number
  /** peak layer at 4 shots */
  readonly peakLayer: number
  /** mean TD over the six concepts at the peak layer, 4 shots */
  readonly meanTd4: number
  /** TD vs accuracy over 6 concepts x {1, 4, 10} shots */
  readonly r2: number
  /** (TD, accuracy) per concept at 1, 4 and 10 shots */
  readonly perConcept: Readonly<Record<string, Readonly<Record<"1" | "4" | "10", readonly [number, number]>>>>
  /** task vectors at the peak layer, 5 replicates, in accuracy points */
  readonly taskVectors: string
}

const cells = (rows: Record<string, [number, number, number, number, number, number]>) =>
  Object.fromEntries(
    Object.entries(rows).map(([label, [t1, a1, t4, a4, t10, a10]]) => [label, { "1": [t1, a1 / 100], "4": [t4, a4 / 100], "10": [t10, a10 / 100] } as const])
  )

const TASK_VECTORS = "higher-TD concepts gain up to about +14 points (positive) and lose up to about 15 (negative); lower-TD concepts gain about 2 and lose about 6"

export const STUDY_LLAMA: Readonly<Record<"pos" | "bitwise", StudyFamilyReference>> = {
  pos: {
    model: "Llama-3.1-8B",
    nLayers: 32,
    peakLayer: 15,
    meanTd4: 0.68,
    r2: 0.781,
    perConcept: cells({
      Noun: [0.48, 6.7, 0.85, 30.6, 0.97, 48.9],
      Pronoun: [0.52, 19.7, 0.7, 27.1, 0.82, 40.4],
      Verb: [0.53, 12.5, 0.68, 37.1, 0.75, 48.9],
      Adverb: [0.44, 7.0, 0.68, 20.4, 0.71, 26.7],
      Adjective: [0.37, 5.8, 0.53, 19.5, 0.61, 11.3],
      Preposition: [0.44, 5.5, 0.55, 16.4, 0.66, 19.9]
    }),
    taskVectors: TASK_VECTORS
  },
  bitwise: {
    model: "Llama-3.1-8B",
    nLayers: 32,
    peakLayer: 13,
    meanTd4: 0.43,
    r2: 0.528,
    perConcept: cells({
      AND: [0.39, 10, 0.59, 28, 0.84, 38],
      NAND: [0.37, 7, 0.46, 26, 0.57, 34],
      OR: [0.31, 27, 0.58, 49, 0.86, 72],
      NOR: [0.3, 6, 0.42, 13, 0.6, 21],
      XOR: [0.25, 4, 0.24, 39, 0.31, 36],
      XNOR: [0.22, 4, 0.32, 2, 0.35, 1]
    }),
    taskVectors: TASK_VECTORS
  }
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "n/a")

/** This run's numbers. */
export interface RunFamilyNumbers {
  readonly modelType: string
  readonly nLayers: number
  readonly peakLayer: number
  readonly shots: readonly number[]
  /** mean held-out TD at the peak per shot count */
  readonly td: Readonly<Record<string, number>>
  readonly r2: number
  readonly perConcept: readonly { readonly label: string; readonly shots: number; readonly td: number; readonly accuracy: number }[]
  /** mean accuracy change of the higher- and lower-TD halves per intervention */
  readonly halves: readonly { readonly mode: string; readonly sign: string; readonly highTd: number; readonly lowTd: number }[]
}

/**
 * Markdown tables setting a run beside the study's Llama-3.1-8B: the headline numbers, then (TD,
 * accuracy) per concept at this run's shot counts and at the study's 1, 4 and 10.
 */
export function studyComparisonMarkdown(family: "pos" | "bitwise", run: RunFamilyNumbers): string[] {
  const ref = STUDY_LLAMA[family]
  const depth = (l: number, n: number) => `${l} of 0..${n - 1} (${f2(l / (n - 1))} of the depth)`
  const near4 = run.shots.reduce((best, s) => (Math.abs(s - 4) < Math.abs(best - 4) ? s : best), run.shots[0])
  const tv = run.halves.map((h) => `${h.mode} ${h.sign}: higher-TD half ${f2(h.highTd * 100)} points, lower-TD half ${f2(h.lowTd * 100)}`).join("; ")
  const cell = (label: string, s: number) => {
    const p = run.perConcept.find((x) => x.label === label && x.shots === s)
    return p ? `${f2(p.td)}, ${f2(p.accuracy)}` : "n/a"
  }
  return [
    `| | this run (${run.modelType}) | ${ref.model} (study) |`,
    "|---|---|---|",
    `| peak layer | ${depth(run.peakLayer, run.nLayers)} | ${depth(ref.peakLayer, ref.nLayers)} |`,
    `| mean TD at the peak | ${f2(run.td[String(near4)])} at ${shotsLabel(near4)} | ${f2(ref.meanTd4)} at 4 shots |`,
    `| TD-accuracy R^2 | ${f2(run.r2)} over shots ${run.shots.join(", ")} | ${f2(ref.r2)} over shots 1, 4, 10 |`,
    `| task vectors | ${tv || "not run"} | ${ref.taskVectors} |`,
    "",
    `| concept | ${run.shots.map((s) => `this run, ${shotsLabel(s)} (TD, acc)`).join(" | ")} | ${(["1", "4", "10"] as const).map((s) => `study, ${shotsLabel(Number(s))}`).join(" | ")} |`,
    `|---|${run.shots.map(() => "---").join("|")}|---|---|---|`,
    ...Object.entries(ref.perConcept).map(
      ([label, r]) => `| ${label} | ${run.shots.map((s) => cell(label, s)).join(" | ")} | ${(["1", "4", "10"] as const).map((s) => `${f2(r[s][0])}, ${f2(r[s][1])}`).join(" | ")} |`
    )
  ]
}
