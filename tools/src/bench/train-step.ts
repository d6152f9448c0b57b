import { Rng } from "@conceptscope/core"
import { defaultAdam, RegressionTrainer } from "@conceptscope/finetuners"
import { RegressionTransformer, initBackend, type RegressionTransformerConfig } from "@conceptscope/model-runners"

/**
 * Mean wall time of one training update (forward + backward + Adam) of a freshly initialised model on
 * a fixed random batch, after one warm-up update. Uses the already active backend, or initialises the
 * default one.
 */
export async function benchTrainStep(
  modelConfig: RegressionTransformerConfig,
  batchSize: number,
  steps: number
): Promise<{ msPerStep: number; backend: string }> {
  const info = await initBackend()
  const model = RegressionTransformer.create(modelConfig)
  try {
    const trainer = new RegressionTrainer(model, { adam: defaultAdam })
    const K = modelConfig.maxExamples
    const rng = new Rng(modelConfig.seed).fork("bench")
    const xs = rng.normals(batchSize * K * modelConfig.xDim)
    const ys = rng.normals(batchSize * K)
    trainer.update(xs, ys, batchSize, K)
    const t0 = performance.now()
    for (let i = 0; i < steps; i++) trainer.update(xs, ys, batchSize, K)
    return { msPerStep: (performance.now() - t0) / Math.max(steps, 1), backend: info.name }
  } finally {
    model.dispose()
  }
}
