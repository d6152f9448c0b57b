import { heapReaderActive, type PendingHeapRead, startHeapRead } from "@conceptscope/kernels"
import * as tf from "@tensorflow/tfjs"
import type { TensorLocation } from "./checkpoint.js"
import { WeightPrefetcher } from "./weight-prefetch.js"

/**
 * The reader of streamed mode: while stage i computes, stage i+1's weights are read on another thread.
 * `request(key, tensors)` starts reading one stage (dropping any read still in flight); `take(key)` waits
 * for it and hands over its float32 tensors in request order, or null when `key` is not the stage in
 * flight or its read failed (the caller then reads synchronously, so errors keep their one-line form).
 *
 * - native (the native kernels on wasm): a C++ thread reads the bytes straight into the tensors' heap
 *   memory (one copy, page cache -> heap; @conceptscope/kernels' heap reader);
 * - otherwise a worker thread reads into shared memory (weight-prefetch.ts) and `take` copies into tensors.
 */
export interface StagePrefetch {
  readonly kind: "native" | "worker"
  request(key: string, tensors: readonly TensorLocation[]): void
  take(key: string): tf.Tensor[] | null
  /** takes answered from the reader / not */
  readonly stats: { hits: number; misses: number }
  close(): void
}

/** A float32 tensor of `shape` whose values `fill` writes (straight into its heap memory on wasm). */
export function filledTensor(shape: number[], fill: (out: Float32Array) => void): tf.Tensor {
  if (tf.getBackend() !== "wasm") {
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1))
    fill(out)
    return tf.tensor(out, shape)
  }
  // uninitialised heap memory of its own (tf.zeros would fill a JS array and copy it in: 2.5x the read)
  const backend = tf.backend() as unknown as { makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo; typedArrayFromHeap(t: tf.TensorInfo): Float32Array }
  const t = tf.engine().makeTensorFromTensorInfo(backend.makeOutput(shape, "float32"))
  try {
    fill(backend.typedArrayFromHeap(t))
  } catch (e) {
    t.dispose()
    throw e
  }
  return t
}

class NativeStagePrefetch implements StagePrefetch {
  readonly kind = "native" as const
  readonly stats = { hits: 0, misses: 0 }
  private inFlight: { key: string; read: PendingHeapRead } | null = null

  request(key: string, tensors: readonly TensorLocation[]): void {
    this.drop()
    this.inFlight = { key, read: startHeapRead(tensors.map((t) => ({ fd: t.fd, position: t.begin, dtype: t.dtype, shape: t.shape }))) }
  }

  take(key: string): tf.Tensor[] | null {
    const f = this.inFlight
    if (!f || f.key !== key) {
      this.stats.misses++
      return null
    }
    this.inFlight = null
    const tensors = f.read.wait()
    if (!tensors) {
      this.stats.misses++
      return null
    }
    this.stats.hits++
    return tensors
  }

  private drop(): void {
    this.inFlight?.read.discard()
    this.inFlight = null
  }

  close(): void {
    this.drop()
  }
}

class WorkerStagePrefetch implements StagePrefetch {
  readonly kind = "worker" as const
  private readonly reader = new WeightPrefetcher()
  /** shapes of the request in flight (the reader answers only its key) */
  private shapes: readonly (readonly number[])[] = []

  get stats() {
    return this.reader.stats
  }

  request(key: string, tensors: readonly TensorLocation[]): void {
    this.shapes = tensors.map((t) => t.shape)
    this.reader.request(key, tensors)
  }

  take(key: string): tf.Tensor[] | null {
    const views = this.reader.take(key)
    return views && views.map((v, i) => filledTensor([...this.shapes[i]], (out) => out.set(v)))
  }

  close(): void {
    this.reader.close()
  }
}

/** The native reader where it is active, else the worker. */
export const stagePrefetch = (): StagePrefetch => (heapReaderActive() ? new NativeStagePrefetch() : new WorkerStagePrefetch())
