import * as tf from "@tensorflow/tfjs"
import { type LmBatch, LmTrainer } from "@conceptscope/finetuners"
import { llamaConfigJson, TrainableLlama } from "@conceptscope/model-runners"

/** A fixed pseudo-random batch of B rows x T tokens over ids 4..V-1, every position scored (next token of a row of T + 1). */
export function fixedBatch(B: number, T: number, V: number): LmBatch {
  let x = 12345
  const seq = Int32Array.from({ length: B * (T + 1) }, () => 4 + ((x = (x * 1103515245 + 12345) >>> 0) % (V - 4)))
  const ids = new Int32Array(B * T) // [B*T] row-major
  const targets = new Int32Array(B * T)
  for (let b = 0; b < B; b++) {
    ids.set(seq.subarray(b * (T + 1), b * (T + 1) + T), b * T)
    targets.set(seq.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T)
  }
  return { ids, targets, B, T }
}

/**
 * The embedded LM's training step (LmTrainer: forward, backward, clip, Adam), at the default size of
 * apps/pipeline/configs/llm/embedded.json (6 x 128, 4 heads, 2 key-value heads, SwiGLU 256, tied
 * embeddings) on one fixed random batch of 8 rows x 256 tokens; `tools/torch/bench_lm_step.py` is the same
 * step in PyTorch. Returns ms per step after `warmup` untimed steps.
 */
export function benchLmStep(opts: { steps: number; warmup: number; vocab?: number }): { msPerStep: number; params: number } {
  const V = opts.vocab ?? 2200
  const [B, T] = [8, 256]
  const config = llamaConfigJson({ nLayers: 6, dModel: 128, nHeads: 4, nKvHeads: 2, intermediate: 256, maxPositions: T, ropeTheta: 1e4 }, V, { bos: 1, eos: 2, pad: 0 })
  const model = TrainableLlama.init(config, 0)
  const trainer = new LmTrainer(model, { lr: 2e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 }, 1)
  const batch = fixedBatch(B, T, V)
  for (let i = 0; i < opts.warmup; i++) trainer.update(batch)
  const t0 = performance.now()
  for (let i = 0; i < opts.steps; i++) trainer.update(batch)
  const msPerStep = (performance.now() - t0) / opts.steps
  const params = [...model.params.values()].reduce((a, v) => a + v.size, 0)
  model.dispose()
  tf.disposeVariables()
  return { msPerStep, params }
}
