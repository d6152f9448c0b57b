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
  const centres: Record<"early" | "two-cluster" | "final", [number, number][]> = {
    early: [[0, 0], [0, 0], [0, 0], [0, 0]],
    "two-cluster": [[6, 0], [-2, 0.5], [-2, -0.5], [-2.2, 0]],
    final: [[6, 0], [-3, 5], [-3, -5], [-7, 0]]
  }
  const phaseStep = { early: steps[1], "two-cluster": steps[Math.floor(nCk / 4)], final: steps[nCk - 1] }
  const embeddings = (["umap", "pca"] as const).flatMap((method) =>
    (["early", "two-cluster", "final"] as const).map((phase) => ({
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
  const patchMatrix = (stage: "two-cluster" | "final", unpatched: number[]) =>
    unpatched.map((u, s) =>
      unpatched.map((_, t) => {
        const differs = stage === "two-cluster" ? group(s) !== group(t) : s !== t
        return differs ? 1.2 + 0.3 * rng.uniform() : u * (0.9 + 0.1 * rng.uniform())
      })
    )
  const unpatchedAt = (step: number) => concepts.map((_, c) => lossCurves.find((p) => p.step === step && p.concept === c)!.nmse)
  const patching = (["two-cluster", "final"] as const).map((phase) => {
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
    { k, method: `model (early, step ${steps[1]})`, nmse: Math.max(2e-3, Math.min(1, lsErr(k, D) * 1.1)) },
    { k, method: `model (final, step ${steps[nCk - 1]})`, nmse: Math.max(2e-3, lsErr(k, r) * 1.15 + 0.004) },
    { k, method: "least squares", nmse: Math.max(1e-3, lsErr(k, D)) },
    { k, method: "lasso", nmse: Math.max(1e-3, Math.min(1, lsErr(k, D) * Math.exp(-k / 8))) },
    { k, method: "bayes oracle (knows the basis)", nmse: Math.max(1e-3, lsErr(k, r)) }
  ])
  const pairwiseTD = [phaseStep.early, phaseStep["two-cluster"], phaseStep.final].map((step) => ({
    step,
    layer: reportedLayer,
    matrix: concepts.map((_, i) =>
      concepts.map((_, j) =>
        i === j ? NaN : Math.min(1, 0.5 + 0.5 * Math.max(progressOf(i, step), progressOf(j, step)) * (group(i) !== group(j) ? 1 : progressOf(1, step)))
      )
    )
  }))
  const linearProbe = [phaseStep.early, phaseStep["two-cluster"], phaseStep.final].flatMap((step) =>
    Array.from({ length: nLayers + 1 }, (_, j) => ({
      step,
      layer: j - 1,
      testAcc: Math.min(1, chance + (1 - chance) * 0.5 * (progressOf(0, step) + progressOf(1, step)) * depth(j - 1) + 0.02 * rng.uniform())
    }))
  )
  const tdAt = (step: number, layer: number) => tdCurves.find((p) => p.step === step && p.layer === layer)!.td
  const finalTd = tdCurves.filter((p) => p.step === steps[nCk - 1])
  const pn = (phase: "two-cluster" | "final", base: number, self: number, off: number) => ({
    phase,
    step: phaseStep[phase],
    baseline: base,
    self,
    offDiagonal: off,
    offDiagonalOverBaseline: off / base,
    selfOverBaseline: self / base,
    offDiagonalOverSelf: off / self
  })
  const summary: Summary = {
    config: "part1-disjoint-4x4",
    backend: "tfjs-wasm",
    concepts,
    finalNmsePerConcept: unpatchedAt(steps[nCk - 1]),
    td: {
      position: 38,
      layer: reportedLayer,
      layerChosenOn: "selection split",
      first: tdAt(steps[0], reportedLayer),
      final: tdAt(steps[nCk - 1], reportedLayer),
      peakLayerAllSequences: finalTd.reduce((a, b) => (b.td > a.td ? b : a)).layer,
      queryToken: { position: 38, layer: reportedLayer, layerChosenOn: "selection split", first: tdAt(steps[0], reportedLayer), final: tdAt(steps[nCk - 1], reportedLayer) },
      groups: null
    },
    coupling: {
      surrogates: 999,
      perBasis: [
        { basis: 0, lossHalfStep: 10000, tdHalfStep: 10400, lagSteps: 400, rateCorrelation: 0.93, pValue: 0.001, lagPValue: 0.05 },
        { basis: 1, lossHalfStep: 36000, tdHalfStep: 37000, lagSteps: 1000, rateCorrelation: 0.88, pValue: 0.002, lagPValue: 0.1 },
        { basis: 2, lossHalfStep: 36000, tdHalfStep: 36500, lagSteps: 500, rateCorrelation: 0.9, pValue: 0.001, lagPValue: 0.05 },
        { basis: 3, lossHalfStep: null, tdHalfStep: 40000, lagSteps: null, rateCorrelation: 0.4, pValue: 0.2, lagPValue: null }
      ]
    },
    twoCluster: { step: phaseStep["two-cluster"], learned: [0], lossRatio: 8.5 },
    patching: {
      positions: "query",
      layer: 4,
      layerChosenOn: "report layer - 1 (the report layer is the last)",
      checkpoints: [pn("two-cluster", 0.3, 0.31, 0.9), pn("final", 0.02, 0.021, 1.35)],
      queryToken: { offDiagonalOverBaseline: 67.5, selfOverBaseline: 1.05 },
      byLayer: [
        { layer: 3, offDiagonalOverBaseline: 16.7, selfOverBaseline: 1.1, offDiagonalOverSelf: 15.2 },
        { layer: 4, offDiagonalOverBaseline: 67.5, selfOverBaseline: 1.05, offDiagonalOverSelf: 64.3 }
      ]
    },
    nmse: { k: 19, step: steps[nCk - 1], model: 0.012, leastSquares: 0.24, bayesOracle: 0.011, bayesOptimal: 0.01 },
    artifactKeys: { train: "a1b2c3d4e5f60718", activations: "0badc0ffee123456" },
    // head importance: head c of layer 1 matters for concept c (8 heads)
    heads: {
      synthetic: {
        step: steps[nCk - 1],
        modes: ["zero", "mean"].map((ablation) => {
          const grid = (c: number) => Array.from({ length: nLayers }, (_, l) => Array.from({ length: 8 }, (_, h) => (l === 1 && h === c ? 0.5 : 0.01 * rng.normal())))
          const perConcept = concepts.map((label, c) => ({ label, lossChange: grid(c) }))
          return {
            ablation,
            lossChange: Array.from({ length: nLayers }, (_, l) => Array.from({ length: 8 }, (_, h) => perConcept.reduce((a, p) => a + p.lossChange[l][h], 0) / concepts.length)),
            perConcept,
            topHead: concepts.map((label, c) => ({ label, layer: 1, head: c, lossChange: 0.5 }))
          }
        })
      }
    }
  }
  return {
    title: "ConceptScope · Part 1: sparse linear regression, 4 disjoint bases",
    configName: summary.config,
    configDescription: "GPT-2 style regression transformer (12 layers, width 256, 8 heads) trained on 4 disjoint rank-4 bases in D = 16, K = 20.",
    params: { model: { layers: 12, width: 256, heads: 8 }, train: { steps: 80000, batch: 128, lr: 1e-4 }, task: { D, bases: 4, rank: r, K: 20, noiseVar: noise }, note: "<script>alert(1)</script>" },
    concepts,
    reportedLayer,
    taskDescription: "4 disjoint rank-4 bases in D = 16, a fresh w per sequence, K = 20",
    oracleDescription: "a 4-dim Bayesian ridge regression",
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
    summary: {
      ...full.summary,
      patching: null,
      heads: undefined,
      artifactKeys: {},
      coupling: { ...full.summary.coupling, perBasis: full.summary.coupling.perBasis.map((b, i) => (i === 0 ? { ...b, rateCorrelation: NaN, pValue: NaN } : b)) }
    }
  }
}
