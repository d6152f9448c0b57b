import * as tf from "@tensorflow/tfjs"

export interface KernelTime {
  readonly kernel: string
  readonly calls: number
  readonly ms: number
}

/**
 * Time spent in each wasm kernel while `fn` runs: every registered wasm kernel is wrapped with a wall
 * clock (wasm kernels run synchronously, so the clock measures the kernel itself), then unwrapped.
 * fn may be async, but nothing else should run on tfjs meanwhile. Returns the kernels sorted by total time, and the wall time of fn (the rest is JS/tape overhead).
 */
export async function profileKernels(fn: () => void | Promise<void>, opts: { byShape?: boolean } = {}): Promise<{ kernels: KernelTime[]; totalMs: number }> {
  const configs = tf.getKernelsForBackend("wasm")
  const acc = new Map<string, { calls: number; ms: number }>()
  const originals: tf.KernelConfig[] = []
  for (const k of configs) {
    const orig = k.kernelFunc
    originals.push(k)
    const timed = ((args: unknown) => {
      const t0 = performance.now()
      const out = (orig as (a: unknown) => unknown)(args)
      const key = opts.byShape ? `${k.kernelName} ${shapesOf(args)}` : k.kernelName
      const e = acc.get(key) ?? { calls: 0, ms: 0 }
      e.calls++
      e.ms += performance.now() - t0
      acc.set(key, e)
      return out
    }) as unknown as tf.KernelFunc
    tf.unregisterKernel(k.kernelName, "wasm")
    tf.registerKernel({ ...k, kernelFunc: timed })
  }
  const t0 = performance.now()
  try {
    await fn()
  } finally {
    for (const k of originals) {
      tf.unregisterKernel(k.kernelName, "wasm")
      tf.registerKernel(k)
    }
  }
  const totalMs = performance.now() - t0
  const kernels = [...acc.entries()].map(([kernel, v]) => ({ kernel, ...v })).sort((a, b) => b.ms - a.ms)
  return { kernels, totalMs }
}

function shapesOf(args: unknown): string {
  const inputs = (args as { inputs?: Record<string, { shape?: number[] } | undefined> }).inputs ?? {}
  return Object.values(inputs)
    .map((t) => (t?.shape ? `[${t.shape.join(",")}]` : "-"))
    .join(" ")
}
