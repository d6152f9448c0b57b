import * as tf from "@tensorflow/tfjs"
import { loadNative } from "./addon.js"
import { nativeMatmulActive } from "./install.js"
import { offsetOf, type WasmBackend } from "./wasm-backend.js"

/**
 * Checkpoint bytes read straight into float32 tensors on the wasm heap by a native thread (native/reader.h),
 * while the caller goes on computing: the streamed mode of an HF checkpoint reads block l+1 during block l.
 * Active with the native kernels on wasm.
 */
export interface HeapReadJob {
  /** an open file descriptor */
  readonly fd: number
  /** byte position of the stored tensor */
  readonly position: number
  readonly dtype: "F32" | "F16" | "BF16"
  readonly shape: readonly number[]
}

const DTYPE_CODE = { F32: 0, F16: 1, BF16: 2 } as const

export const heapReaderActive = (): boolean => nativeMatmulActive() && tf.getBackend() === "wasm"

export interface PendingHeapRead {
  /** the destination tensors, in job order (not to be used before `wait`) */
  readonly tensors: readonly tf.Tensor[]
  /** Join the reader: true when every tensor holds its values; on false they have been disposed. */
  wait(): boolean
}

/** Allocate one tensor per job and start reading into them on a native thread. */
export function startHeapRead(jobs: readonly HeapReadJob[]): PendingHeapRead {
  const native = loadNative()
  if (!native.ok || !heapReaderActive()) throw new Error(`startHeapRead: the native heap reader is not active (${native.ok ? "not on wasm" : native.reason})`)
  const backend = tf.backend() as unknown as WasmBackend
  // allocate every tensor first: an allocation may grow the heap (native-kernels.md's heap rule)
  const tensors = jobs.map((j) => tf.engine().makeTensorFromTensorInfo(backend.makeOutput([...j.shape], "float32")))
  const spec = new Float64Array(jobs.length * 5)
  jobs.forEach((j, i) => spec.set([j.fd, j.position, offsetOf(backend, tensors[i]), j.shape.reduce((a, b) => a * b, 1), DTYPE_CODE[j.dtype]], 5 * i))
  const id = native.addon.readStart(backend.wasm.HEAPF32, spec)
  let done: boolean | null = null
  return {
    tensors,
    wait() {
      if (done === null) {
        done = native.addon.readWait(id, (tf.backend() as unknown as WasmBackend).wasm.HEAPF32) === 0
        if (!done) tf.dispose(tensors)
      }
      return done
    }
  }
}
