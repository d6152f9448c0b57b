/**
 * The GPT side of the PyTorch comparison benchmark: a GPT-2 style decoder written with the project's
 * own layers (linear, layerNorm, gelu, selfAttention, matmul from @conceptscope/model-runners) and timed
 * for one training step (forward + backward + Adam). tools/torch/bench_step.py --model gpt is the same
 * model in PyTorch; both must report the same parameter count.
 *
 * Model: 6 layers, width 128, 4 heads, context 80, batch 64, vocab 256; learned positions; pre-LayerNorm
 * blocks (h += attn(ln1(h)); h += mlp(ln2(h))), GELU (tanh approximation) MLP of width 4 * 128;
 * ln_final, then an UNTIED head W_U [128, 256] without bias. Loss: next-token cross-entropy (mean over
 * all B*T positions) on one fixed random batch of B sequences of T+1 tokens. Adam lr 1e-4, betas
 * (0.9, 0.9999), eps 1e-8: the project's own Adam (finetuners, plain JS over the gradients read back),
 * as the regression trainer uses it, so the step timed is the project's real training step.
 * Parameters: wte 256*128 + wpe 80*128 + 6 * 198,272 per block + ln_final 256 + head 128*256 = 1,265,664.
 *
 * Layout as in regression-transformer.ts: the residual stream is 2D and position-major, [T*B, d] with
 * row t*B + b; attention runs as channelMatmul over N = B*H independent (T x d_head) products.
 * The embedding is a one-hot matmul (tf.gather has no gradient on wasm).
 */
import * as tf from "@tensorflow/tfjs"
import { Adam } from "@conceptscope/finetuners"
import { causalMaskValues, gelu, initBackend, layerNorm, linear, matmul, selfAttention } from "@conceptscope/model-runners"

export const GPT_BENCH = { nLayers: 6, dModel: 128, nHeads: 4, context: 80, batch: 64, vocab: 256, lr: 1e-4, beta1: 0.9, beta2: 0.9999 } as const

type Params = Map<string, tf.Variable>

/** GPT-2 init: N(0, 0.02) weights, residual projections N(0, 0.02/sqrt(2L)), biases 0, LN w 1 b 0. */
function createParams(seed: number): Params {
  const { nLayers: L, dModel: d, context: T, vocab: V } = GPT_BENCH
  const resid = 0.02 / Math.sqrt(2 * L)
  const specs: Array<[string, number[], number]> = [
    ["wte", [V, d], 0.02],
    ["wpe", [T, d], 0.02]
  ]
  for (let l = 0; l < L; l++) {
    const p = `blocks.${l}`
    specs.push(
      [`${p}.ln1.w`, [d], -1], [`${p}.ln1.b`, [d], 0],
      [`${p}.attn.W_Q`, [d, d], 0.02], [`${p}.attn.b_Q`, [d], 0],
      [`${p}.attn.W_K`, [d, d], 0.02], [`${p}.attn.b_K`, [d], 0],
      [`${p}.attn.W_V`, [d, d], 0.02], [`${p}.attn.b_V`, [d], 0],
      [`${p}.attn.W_O`, [d, d], resid], [`${p}.attn.b_O`, [d], 0],
      [`${p}.ln2.w`, [d], -1], [`${p}.ln2.b`, [d], 0],
      [`${p}.mlp.W_in`, [d, 4 * d], 0.02], [`${p}.mlp.b_in`, [4 * d], 0],
      [`${p}.mlp.W_out`, [4 * d, d], resid], [`${p}.mlp.b_out`, [d], 0]
    )
  }
  specs.push(["ln_final.w", [d], -1], ["ln_final.b", [d], 0], ["unembed.W_U", [d, V], 0.02])
  const params: Params = new Map()
  specs.forEach(([name, shape, std], i) => {
    const init = tf.tidy(() =>
      std === 0 ? tf.zeros(shape) : std === -1 ? tf.ones(shape) : tf.randomNormal(shape, 0, std, "float32", seed + i)
    )
    params.set(name, tf.variable(init, true, `gptbench.${name}`))
    init.dispose()
  })
  return params
}

/**
 * tokens [T*B] int32 (position-major, row t*B + b), mask [T, 1, T] -> logits [T*B, V]. Differentiable.
 */
function forward(P: Params, tokens: tf.Tensor, mask: tf.Tensor): tf.Tensor {
  const { nLayers: L, dModel: d, nHeads: H, context: T, batch: B, vocab: V } = GPT_BENCH
  const N = B * H // independent attention products
  const dh = d / H
  const p = (n: string) => P.get(n) as tf.Variable

  const oneHot = tf.oneHot(tokens, V, 1, 0, "float32") // [T*B, V]
  let h = matmul(oneHot, p("wte")) // [T*B, d]
  h = tf.reshape(tf.add(tf.reshape(h, [T, B, d]), tf.reshape(p("wpe"), [T, 1, d])), [T * B, d]) // [T*B, d]

  for (let l = 0; l < L; l++) {
    const b = (n: string) => p(`blocks.${l}.${n}`)
    const a = layerNorm(h, b("ln1.w"), b("ln1.b")) // [T*B, d]
    const q = tf.reshape(linear(a, b("attn.W_Q"), b("attn.b_Q")), [T, N, dh]) // [T(i), N, dh]
    const k = tf.reshape(linear(a, b("attn.W_K"), b("attn.b_K")), [T, N, dh]) // [T(j), N, dh]
    const v = tf.reshape(linear(a, b("attn.W_V"), b("attn.b_V")), [T, N, dh]) // [T(j), N, dh]
    const z = selfAttention(q, k, v, mask, 1 / Math.sqrt(dh)) // [T(i), N, dh]
    h = tf.add(h, linear(tf.reshape(z, [T * B, d]), b("attn.W_O"), b("attn.b_O"))) // [T*B, d]

    const m = layerNorm(h, b("ln2.w"), b("ln2.b")) // [T*B, d]
    const hidden = gelu(linear(m, b("mlp.W_in"), b("mlp.b_in"))) // [T*B, 4d]
    h = tf.add(h, linear(hidden, b("mlp.W_out"), b("mlp.b_out"))) // [T*B, d]
  }

  const f = layerNorm(h, p("ln_final.w"), p("ln_final.b")) // [T*B, d]
  return matmul(f, p("unembed.W_U")) // [T*B, V]
}

/** Fixed random batch: B sequences of T+1 tokens -> inputs and next-token targets, both [T*B] position-major. */
function makeBatch(seed: number): { tokens: tf.Tensor; targets: tf.Tensor } {
  const { context: T, batch: B, vocab: V } = GPT_BENCH
  return tf.tidy(() => {
    const seq = tf.randomUniform([T + 1, B], 0, V, "int32", seed) // [T+1, B]
    const tokens = tf.reshape(tf.slice(seq, [0, 0], [T, B]), [T * B]) // [T*B]
    const targets = tf.reshape(tf.slice(seq, [1, 0], [T, B]), [T * B]) // [T*B]
    return { tokens, targets }
  })
}

export function gptBenchParamCount(params: Params): number {
  let n = 0
  for (const v of params.values()) n += v.size
  return n
}

/**
 * Mean wall time of one training step of the benchmark GPT on the project's backend (initBackend()):
 * `warmup` untimed steps, then the mean over `steps` timed ones. Each step reads its loss back, so the
 * time includes all queued work on asynchronous backends too. Disposes everything it created.
 */
export async function benchGptStep(opts: { steps: number; warmup: number }): Promise<{ msPerStep: number; params: number }> {
  await initBackend()
  const { context: T, vocab: V, lr, beta1, beta2 } = GPT_BENCH
  const params = createParams(1234)
  const varList = [...params.values()]
  const { tokens, targets } = makeBatch(4321)
  const labels = tf.oneHot(targets, V, 1, 0, "float32") // [T*B, V], fixed
  const mask = tf.tensor3d(causalMaskValues(T), [T, 1, T]) // [T(i), 1, T(j)]
  const names = [...params.keys()]
  const adam = new Adam({ lr, beta1, beta2, eps: 1e-8, weightDecay: 0 }, new Map(names.map((n) => [n, (params.get(n) as tf.Variable).shape])))
  const master = new Map(names.map((n) => [n, (params.get(n) as tf.Variable).dataSync().slice() as Float32Array]))
  const step = (): number => {
    const { value, grads } = tf.tidy(() => {
      const f = () => tf.losses.softmaxCrossEntropy(labels, forward(params, tokens, mask)) as tf.Scalar // mean over T*B
      return tf.variableGrads(f, varList)
    })
    const loss = value.dataSync()[0]
    const g = new Map(names.map((n) => [n, grads[(params.get(n) as tf.Variable).name].dataSync() as Float32Array]))
    adam.step(master, g)
    tf.dispose([value, ...Object.values(grads)])
    tf.tidy(() => {
      for (const n of names) (params.get(n) as tf.Variable).assign(tf.tensor(master.get(n) as Float32Array, (params.get(n) as tf.Variable).shape))
    })
    if (!Number.isFinite(loss)) throw new Error(`gpt bench: loss ${loss}`)
    return loss
  }
  try {
    for (let i = 0; i < opts.warmup; i++) step()
    const t0 = performance.now()
    for (let i = 0; i < opts.steps; i++) step()
    const msPerStep = (performance.now() - t0) / Math.max(opts.steps, 1)
    return { msPerStep, params: gptBenchParamCount(params) }
  } finally {
    tf.dispose([tokens, targets, labels, mask, ...varList])
  }
}
