import * as tf from "@tensorflow/tfjs"

/**
 * The parts of tfjs-backend-wasm 4.22's BackendWasm the overrides use, and the registry swap.
 * Heap rule (native-kernels.md): allocate every output with `makeOutput` FIRST, then take `heap()`:
 * an allocation can grow the wasm memory, which detaches views taken before it.
 */
export interface WasmBackend {
  incRef(dataId: object): void
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
  getMemoryOffset(dataId: object): number
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array
  wasm: { HEAPF32: Float32Array }
}

export interface KernelArgs {
  inputs: Record<string, tf.TensorInfo | undefined>
  backend: WasmBackend
  attrs: Record<string, unknown>
}

export type Kernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]
type Orig = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]

/** Element offset of a tensor in HEAPF32. */
export const offsetOf = (b: WasmBackend, t: tf.TensorInfo): number => b.getMemoryOffset(t.dataId) / 4

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, d) => a * d, 1)

/** Row-major strides of `shape`, in elements. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length)
  let acc = 1
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc
    acc *= shape[d]
  }
  return s
}

/** Zero-copy output sharing x's data (as wasm's own Reshape does). */
export const zeroCopy = (x: tf.TensorInfo, backend: WasmBackend): tf.TensorInfo => {
  backend.incRef(x.dataId)
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype }
}

// name -> the stock kernelFunc, for inputs an override does not handle and for restoreStockKernels()
const stock = new Map<string, Orig>()
const installed = new Set<string>()

/** Replace the wasm kernel `name` with make(stock); no-op if tfjs has no such kernel. */
export function overrideKernel(name: string, make: (orig: Orig) => Kernel): boolean {
  const k = tf.getKernel(name, "wasm")
  if (!k) return false
  const orig = stock.get(name) ?? (k.kernelFunc as unknown as Orig)
  stock.set(name, orig)
  tf.unregisterKernel(name, "wasm")
  tf.registerKernel({ ...k, kernelFunc: make(orig) as unknown as tf.KernelFunc })
  installed.add(name)
  return true
}

const added = new Set<string>()

/** Register a kernel tfjs does not have (the fused ones); removed again by restoreStockKernels(). */
export function addKernel(name: string, fn: Kernel): void {
  if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm")
  tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: fn as unknown as tf.KernelFunc })
  added.add(name)
}

/** Put every replaced kernel back to stock and remove the added ones. */
export function restoreStockKernels(): void {
  for (const name of added) if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm")
  added.clear()
  for (const name of installed) {
    const k = tf.getKernel(name, "wasm")
    const orig = stock.get(name)
    if (!k || !orig) continue
    tf.unregisterKernel(name, "wasm")
    tf.registerKernel({ ...k, kernelFunc: orig as unknown as tf.KernelFunc })
  }
  installed.clear()
}

export const installedKernels = (): string[] => [...installed, ...added].sort()
