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

export const heapReaderActive = (): boolean => nativeMatmulActive() // the native kernels, on wasm

export interface PendingHeapRead {
  /** Join the reader: the tensors in job order (the caller owns them), or null when a read failed (memory freed). Once. */
  wait(): tf.Tensor[] | null
  /** Join the reader and free what it read (idempotent; nothing after `wait`). */
  discard(): void
}

/**
 * Allocate heap memory for every job and start reading into it on a native thread. Until `wait` the memory
 * is the backend's alone (no tfjs tensor exists yet, so tf.memory().numTensors does not count it).
 */
export function startHeapRead(jobs: readonly HeapReadJob[]): PendingHeapRead {
  const native = loadNative()
  if (!native.ok || !heapReaderActive()) throw new Error(`startHeapRead: the native heap reader is not active (${native.ok ? "not on wasm" : native.reason})`)
  const backend = tf.backend() as unknown as WasmBackend & { disposeData(dataId: object): void }
  // allocate everything first: an allocation may grow the heap (native-kernels.md's heap rule)
  const infos = jobs.map((j) => backend.makeOutput([...j.shape], "float32"))
  const spec = new Float64Array(jobs.length * 5)
  jobs.forEach((j, i) => spec.set([j.fd, j.position, offsetOf(backend, infos[i]), j.shape.reduce((a, b) => a * b, 1), DTYPE_CODE[j.dtype]], 5 * i))
  const id = native.addon.readStart(backend.wasm.HEAPF32, spec)
  let joined = false
  const join = (): boolean => {
    if (joined) throw new Error("startHeapRead: this read was already joined")
    joined = true
    return native.addon.readWait(id, (tf.backend() as unknown as WasmBackend).wasm.HEAPF32) === 0
  }
  const free = () => infos.forEach((info) => backend.disposeData(info.dataId))
  return {
    wait() {
      if (join()) return infos.map((info) => tf.engine().makeTensorFromTensorInfo(info))
      free()
      return null
    },
    discard() {
      if (joined) return
      join()
      free()
    }
  }
}
