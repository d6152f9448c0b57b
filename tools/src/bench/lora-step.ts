import * as tf from "@tensorflow/tfjs"
import { LmTrainer } from "@conceptscope/finetuners"
import { LORA_TARGETS, TrainableLlama } from "@conceptscope/model-runners"
import { fixedBatch } from "./lm-step.js"

/** The layers and batch of the LoRA benchmark: the first 4 of the ~100M checkpoint's 12 layers, 4 rows x 128 tokens. */
export const LORA_BENCH = { layers: [0, 1, 2, 3], B: 4, T: 128, r: 16, alpha: 16, dropout: 0.1 } as const

/**
 * A finetuning step (forward, backward, clip, Adam) of the ~100M Llama-shaped checkpoint at `dir`
 * (tools/src/tiny-checkpoints, size 100m) on one fixed random batch, every position scored: `lora` trains
 * a rank-16 adapter on every projection of the first 4 layers (the study's LoRA settings); `full` trains
 * every weight of the same 4 layers. `tools/torch/bench_lora_step.py` is the same step in PyTorch.
 * Returns ms per step after `warmup` untimed steps and the trained parameter count.
 */
export function benchLoraStep(opts: { dir: string; mode: "lora" | "full"; steps: number; warmup: number }): { msPerStep: number; trained: number } {
  const { B, T } = LORA_BENCH
  const model = TrainableLlama.fromCheckpoint(opts.dir)
  if (opts.mode === "lora") model.attachLora({ r: LORA_BENCH.r, alpha: LORA_BENCH.alpha, dropout: LORA_BENCH.dropout, targets: LORA_TARGETS, layers: [...LORA_BENCH.layers] }, 0)
  else model.trainOnlyLayers([...LORA_BENCH.layers])
  const trainer = new LmTrainer(model, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, 1)
  const batch = fixedBatch(B, T, model.arch.dims.vocab)
  for (let i = 0; i < opts.warmup; i++) trainer.update(batch)
  const t0 = performance.now()
  for (let i = 0; i < opts.steps; i++) trainer.update(batch)
  const msPerStep = (performance.now() - t0) / opts.steps
  const trained = [...model.trainable().values()].reduce((a, v) => a + v.size, 0)
  model.dispose()
  tf.disposeVariables()
  return { msPerStep, trained }
}
