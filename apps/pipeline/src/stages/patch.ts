import { type ArtifactRef, defineStage, NoMeta, tableFromRecords } from "@conceptscope/artifacts"
import { progress, residPost } from "@conceptscope/core"
import { conceptMeans, patchingMatrix, type PositionedMeans, withinConceptCovariance } from "@conceptscope/interventions"
import type { RegressionTransformer } from "@conceptscope/model-runners"
import type { RegressionBatch } from "@conceptscope/task-generators"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema } from "effect"
import { useTensorBackend } from "../backend.js"
import { checkpointAt, loadModel } from "./shared/checkpoints.js"
import { readDataset, selectBasis } from "./shared/datasets.js"
import { stagePromise, writeTable } from "./shared/io.js"
import { PATCHING_SPEC } from "./shared/tables.js"
import { PhaseCheckpoints } from "./shared/phases.js"

/**
 * Activation patching (the study's Fig. 3): at each of `layers`, the residual of source-basis sequences at the
 * patched positions is moved towards the mean activation of a target basis (means per position, from
 * the probe set, whose sequences are disjoint from the evaluation set's), and the normalised MSE of the
 * predictions that can see a patch is scored: "query" scores only the prediction of the last y (made at
 * the query token, the last x), "after-first" every prediction from the first patched position on. One
 * row per (checkpoint, layer, source, target) in `patching.parquet`; target -1 = unpatched.
 */
export const PatchParams = Schema.Struct({
  layers: Schema.NonEmptyArray(Schema.Int.pipe(Schema.nonNegative())),
  mode: Schema.Literal("replace", "add", "mean-diff", "subspace", "fisher"),
  positions: Schema.NonEmptyArray(Schema.Int.pipe(Schema.nonNegative())),
  scoring: Schema.Literal("query", "after-first"),
  perConcept: Schema.Int.pipe(Schema.positive()),
  nConcepts: Schema.Int.pipe(Schema.positive()),
  checkpoints: PhaseCheckpoints
})

/**
 * Normalised MSE of the predictions that can see a patch at `firstPatched` (the x_k token at position 2k
 * sees positions <= 2k), or of the query prediction alone (k = K - 1) when `queryOnly`.
 */
export function scoreAfter(batch: RegressionBatch, preds: Float32Array, firstPatched: number, queryOnly = false): number {
  const { n, K } = batch
  let se = 0
  let yy = 0
  for (let i = 0; i < n; i++)
    for (let k = queryOnly ? K - 1 : 0; k < K; k++) {
      if (2 * k < firstPatched) continue
      const y = batch.ys[i * K + k]
      se += (preds[i * K + k] - y) ** 2
      yy += y * y
    }
  return se / yy
}

/** Split captured activations [n, P, d] into one [n, d] array per position. */
function byPosition(all: Float32Array, n: number, P: number, d: number): Float32Array[] {
  return Array.from({ length: P }, (_, p) => {
    const v = new Float32Array(n * d) // [n, d] at position p
    for (let i = 0; i < n; i++) v.set(all.subarray((i * P + p) * d, (i * P + p + 1) * d), i * d)
    return v
  })
}

const forwardPreds = (model: RegressionTransformer, b: RegressionBatch, interventions: Parameters<RegressionTransformer["forward"]>[2]) =>
  tf.tidy(() => {
    const xs = tf.tensor3d(b.xs, [b.n, b.K, b.D])
    const ys = tf.tensor2d(b.ys, [b.n, b.K])
    const { preds, captured } = model.forward(xs, ys, interventions)
    for (const t of captured.values()) t.dispose()
    return preds
  })

/** What `patchModel` needs of the stage's parameters. */
export type PatchSettings = Pick<typeof PatchParams.Type, "layers" | "mode" | "positions" | "scoring" | "nConcepts">

/**
 * Patching of one model: concept means (per patched position) from the probe set, then for each layer
 * the source x target matrix on the source sequences, scored as `scoring` says. One row per (layer,
 * source, target); target -1 = unpatched.
 */
export async function patchModel(
  model: RegressionTransformer,
  probe: RegressionBatch & { readonly basis: Int32Array },
  sources: readonly RegressionBatch[],
  params: PatchSettings,
  onCell?: () => void
): Promise<{ layer: number; source: number; target: number; nmse: number }[]> {
  const positions = Array.from(params.positions)
  const firstPatched = Math.min(...positions)
  const C = params.nConcepts
  const d = model.config.dModel
  // activations at every patched layer in one forward: captured [n, P, d] per hook
  const hooks = params.layers.map((l) => residPost(l))
  const capture = (b: RegressionBatch): Float32Array[] => {
    const caps = tf.tidy(() => {
      const r = model.forward(tf.tensor3d(b.xs, [b.n, b.K, b.D]), tf.tensor2d(b.ys, [b.n, b.K]), { capture: { hooks, positions } })
      r.preds.dispose()
      return hooks.map((h) => r.captured.get(h)!)
    })
    return caps.map((t) => {
      const v = t.dataSync() as Float32Array // [n, P, d]
      t.dispose()
      return v
    })
  }
  const probeCaps = capture(probe)
  // the subspace modes move each source row from its own activation: [layer][source][position] -> [n_s, d]
  const sourceRows: Float32Array[][][] = params.layers.map(() => [])
  if (params.mode === "subspace" || params.mode === "fisher")
    sources.forEach((src, s) => capture(src).forEach((all, li) => (sourceRows[li][s] = byPosition(all, src.n, positions.length, d))))
  const out: { layer: number; source: number; target: number; nmse: number }[] = []
  for (const [li, layer] of params.layers.entries()) {
    const rows = byPosition(probeCaps[li], probe.n, positions.length, d)
    const means = rows.map((v) => conceptMeans(v, probe.basis, C, d))
    const within = params.mode === "fisher" ? rows.map((v, p) => withinConceptCovariance(v, probe.basis, means[p], d)) : undefined
    const m: PositionedMeans = { hook: hooks[li], positions, d, means, within }
    const result = await patchingMatrix(
      m,
      C,
      params.mode,
      async (s, interventions) => {
        const preds = forwardPreds(model, sources[s], { interventions })
        const v = preds.dataSync() as Float32Array
        preds.dispose()
        return v
      },
      (s, preds) => scoreAfter(sources[s], preds, firstPatched, params.scoring === "query"),
      onCell,
      (s) => sourceRows[li][s]
    )
    for (let s = 0; s < C; s++) {
      out.push({ layer, source: s, target: -1, nmse: result.unpatched[s] })
      for (let t = 0; t < C; t++) out.push({ layer, source: s, target: t, nmse: result.matrix[s][t] })
    }
  }
  return out
}

export const patchStage = defineStage({
  name: "patch",
  version: "4",
  schemaVersion: 2,
  params: PatchParams,
  meta: NoMeta,
  run: ({ params, inputs, dir }: { params: typeof PatchParams.Type; inputs: { train: ArtifactRef; probeset: ArtifactRef; evalset: ArtifactRef }; dir: string }) =>
    Effect.gen(function* () {
      yield* useTensorBackend
      const probe = yield* readDataset(inputs.probeset)
      const evalSet = yield* readDataset(inputs.evalset)
      const C = params.nConcepts
      const sources = Array.from({ length: C }, (_, s) => selectBasis(evalSet, s, params.perConcept))
      const records: Record<string, unknown>[] = []
      const bar = progress("patch", params.checkpoints.length * params.layers.length * C * C)
      for (const target of params.checkpoints) {
        const ck = yield* checkpointAt("patch", inputs.train, target.step)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const model = yield* loadModel("patch", inputs.train, ck.file)
            const rows = yield* stagePromise("patch", () =>
              patchModel(model, probe, sources, params, () => bar.tick())
            )
            for (const r of rows) records.push({ step: ck.step, phase: target.phase, ...r })
          })
        )
      }
      bar.done()
      yield* writeTable(dir, "patching.parquet", tableFromRecords(PATCHING_SPEC, records))
      return { rowCount: records.length, meta: {} }
    })
})

