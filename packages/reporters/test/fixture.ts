/**
 * A realistic synthetic ReportInput shaped like the paper's Part 1 run (4 disjoint bases in
 * D = 16, 12 layers): B1's loss drops first, B2-B4 in two steps; TD at the reported layer rises
 * with each drop; embeddings go from one cluster to {B1} vs {B2,B3,B4} to four clusters; patching
 * shows the two-cluster and four-cluster patterns. All noise comes from `seed`.
 */
import type { ReportInput, Summary } from "../src/index.js"

/** mulberry32: a tiny seeded generator, enough for fixture noise. */
const makeRng = (seed: number) => {
  let a = seed >>> 0
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const normal = () => {
    let u = 0
    while (u === 0) u = uniform()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform())
  }
  return { uniform, normal }
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z))

export interface FixtureOptions {
  seed?: number
  /** number of evaluation checkpoints (evenly spaced over 80K steps, including step 0) */
  checkpoints?: number
  layers?: number
  pointsPerConcept?: number
}

export const makeReportInput = (o: FixtureOptions = {}): ReportInput => {
  const rng = makeRng(o.seed ?? 1)
  const nCk = o.checkpoints ?? 21
  const nLayers = o.layers ?? 12
  const perConcept = o.pointsPerConcept ?? 100
  const concepts = ["B1", "B2", "B3", "B4"]
  const reportedLayer = 5
  const steps = Array.from({ length: nCk }, (_, i) => Math.round((i * 80000) / (nCk - 1)))
  // progress of concept c's representation at `step`, in [0, 1]
  const progressOf = (c: number, step: number) =>
    c === 0 ? sigmoid((step - 10000) / 1500) : 0.45 * sigmoid((step - 12000) / 1500) + 0.55 * sigmoid((step - 40000) / 2000)
  const lossCurves = steps.flatMap((step) =>
    concepts.map((_, c) => ({ step, concept: c, nmse: Math.max(1e-3, (1 - 0.98 * progressOf(c, step)) * Math.exp(0.05 * rng.normal())) }))
  )
  const chance = 1 / concepts.length
  const depth = (l: number) => sigmoid((l - 3) * 1.5) // deeper layers separate concepts more
  const tdCurves = steps.flatMap((step) =>
    Array.from({ length: nLayers + 1 }, (_, j) => {
      const layer = j - 1
      const per = concepts.map((_, c) =>
        Math.min(1, Math.max(0, chance + (1 - chance) * progressOf(c, step) * depth(layer) + 0.02 * rng.normal()))
      )
      return { step, layer, td: per.reduce((a, b) => a + b, 0) / per.length, perConcept: per }
    })
  )
  const centres: Record<"early" | "middle" | "final", [number, number][]> = {
    early: [[0, 0], [0, 0], [0, 0], [0, 0]],
    middle: [[6, 0], [-2, 0.5], [-2, -0.5], [-2.2, 0]],
    final: [[6, 0], [-3, 5], [-3, -5], [-7, 0]]
  }
  const phaseStep = { early: steps[1], middle: steps[Math.floor(nCk / 4)], final: steps[nCk - 1] }
  const embeddings = (["umap", "pca"] as const).flatMap((method) =>
    (["early", "middle", "final"] as const).map((phase) => ({
      step: phaseStep[phase],
      phase,
      method,
      points: concepts.flatMap((_, c) =>
        Array.from({ length: perConcept }, () => ({
          x: centres[phase][c][0] + rng.normal() * (method === "pca" ? 1.4 : 0.8),
          y: centres[phase][c][1] + rng.normal() * (method === "pca" ? 1.4 : 0.8),
          concept: c
        }))
      )
    }))
  )
  const group = (c: number) => (c === 0 ? 0 : 1)
  const patchMatrix = (stage: "middle" | "final", unpatched: number[]) =>
    unpatched.map((u, s) =>
      unpatched.map((_, t) => {
        const differs = stage === "middle" ? group(s) !== group(t) : s !== t
        return differs ? 1.2 + 0.3 * rng.uniform() : u * (0.9 + 0.1 * rng.uniform())
      })
    )
  const unpatchedAt = (step: number) => concepts.map((_, c) => lossCurves.find((p) => p.step === step && p.concept === c)!.nmse)
  const patching = (["middle", "final"] as const).map((phase) => {
    const unpatched = unpatchedAt(phaseStep[phase])
    return { step: phaseStep[phase], phase, layer: reportedLayer, matrix: patchMatrix(phase, unpatched), unpatched }
  })
  const D = 16
  const r = 4
  const noise = 0.01
  // expected NMSE of minimum-norm least squares with k examples in d dims (isotropic Gaussian x):
  // 1 - k/d below d (unseen directions), noise * d / (k - d - 1) above d + 1, a capped peak between
  const lsErr = (k: number, d: number) => (k < d ? 1 - k / d + noise : Math.min(1, (noise * d) / Math.max(0.5, k - d - 1)))
  const errorVsK = Array.from({ length: 20 }, (_, i) => i + 1).flatMap((k) => [
    { k, method: "model", nmse: Math.max(2e-3, lsErr(k, r) * 1.15 + 0.004) },
    { k, method: "least squares", nmse: Math.max(1e-3, lsErr(k, D)) },
    { k, method: "lasso", nmse: Math.max(1e-3, Math.min(1, lsErr(k, D) * Math.exp(-k / 8))) },
    { k, method: "oracle", nmse: Math.max(1e-3, lsErr(k, r)) }
  ])
  const pairwiseTD = [phaseStep.early, phaseStep.middle, phaseStep.final].map((step) => ({
    step,
    layer: reportedLayer,
    matrix: concepts.map((_, i) =>
      concepts.map((_, j) =>
        i === j ? NaN : Math.min(1, 0.5 + 0.5 * Math.max(progressOf(i, step), progressOf(j, step)) * (group(i) !== group(j) ? 1 : progressOf(1, step)))
      )
    )
  }))
  const linearProbe = [phaseStep.early, phaseStep.middle, phaseStep.final].flatMap((step) =>
    Array.from({ length: nLayers + 1 }, (_, j) => ({
      step,
      layer: j - 1,
      testAcc: Math.min(1, chance + (1 - chance) * 0.5 * (progressOf(0, step) + progressOf(1, step)) * depth(j - 1) + 0.02 * rng.uniform())
    }))
  )
  const tdAt = (step: number, layer: number) => tdCurves.find((p) => p.step === step && p.layer === layer)!.td
  const finalTd = tdCurves.filter((p) => p.step === steps[nCk - 1])
  const summary: Summary = {
    config: "part1-disjoint-4x4",
    backend: "tfjs-wasm",
    finalNmsePerConcept: unpatchedAt(steps[nCk - 1]),
    reportedLayer,
    tdFirst: tdAt(steps[0], reportedLayer),
    tdFinal: tdAt(steps[nCk - 1], reportedLayer),
    tdPeakLayerFinal: finalTd.reduce((a, b) => (b.td > a.td ? b : a)).layer,
    coupling: { spearmanPerConcept: [0.97, 0.95, 0.96, 0.94], lossHalfwayStep: [10000, 36000, 36000, null], tdHalfwayStep: 24000, meanSpearman: 0.955 },
    patching: { step: phaseStep.final, layer: 4, diagonalMean: 0.02, offDiagonalMean: 1.35, ratio: 67.5, byLayer: [{ layer: 3, diagonalMean: 0.03, offDiagonalMean: 0.5, ratio: 16.7 }, { layer: 4, diagonalMean: 0.02, offDiagonalMean: 1.35, ratio: 67.5 }] },
    artifactKeys: { train: "a1b2c3d4e5f60718", activations: "0badc0ffee123456" }
  }
  return {
    title: "ConceptScope · Part 1: sparse linear regression, 4 disjoint bases",
    configName: summary.config,
    configDescription: "GPT-2 style regression transformer (12 layers, width 256, 8 heads) trained on 4 disjoint rank-4 bases in D = 16, K = 20.",
    params: { model: { layers: 12, width: 256, heads: 8 }, train: { steps: 80000, batch: 128, lr: 1e-4 }, task: { D, bases: 4, rank: r, K: 20, noiseVar: noise }, note: "<script>alert(1)</script>" },
    concepts,
    reportedLayer,
    lossCurves,
    tdCurves,
    embeddings,
    patching,
    errorVsK,
    pairwiseTD,
    linearProbe,
    summary,
    notes: [
      "This is a synthetic fixture: the numbers are made up to look like the paper's Part 1 run.",
      "Only one seed was run, so the stepwise-drop pattern cannot be compared across seeds.",
      "TD uses leave-one-out 10-NN; points are never scored against themselves."
    ],
  }
}

/** The same input with every optional section empty (no patching, embeddings, probes, ...). */
export const makeSparseInput = (): ReportInput => {
  const full = makeReportInput({ checkpoints: 6 })
  return {
    ...full,
    embeddings: [],
    patching: [],
    errorVsK: [],
    pairwiseTD: undefined,
    linearProbe: [],
    notes: [],
    summary: { ...full.summary, patching: null, artifactKeys: {}, coupling: { ...full.summary.coupling, spearmanPerConcept: [NaN, 1, 1, 1], meanSpearman: NaN } }
  }
}
