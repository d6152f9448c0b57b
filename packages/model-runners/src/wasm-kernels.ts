import * as tf from "@tensorflow/tfjs"

/**
 * Kernel replacements for the tfjs wasm backend (4.22), installed once by `initBackend` when wasm is
 * chosen. They change speed only, never results beyond float rounding (tested against the originals):
 * - Identity: zero-copy (incRef the input's data, as wasm's own Reshape does). tfjs tensors are
 *   immutable, and autograd clones every tensor it saves for the backward pass, so the stock copying
 *   Identity cost about 10% of a training step here.
 * - Cast to the same dtype: zero-copy too (tfjs's Multiply gradient casts float32 to float32).
 * - Sum of a float32 tensor over one contiguous block of axes that does not include the last one
 *   (the gradient of every broadcast bias/scale add): a row-accumulating loop over the wasm heap
 *   instead of stock transpose + reduce (measured 0.5 -> 0.13 ms for [1280, 64] over axis 0,
 *   12 -> 6 ms for [5120, 256]). Accumulates in float64 per column.
 * Other inputs go to the original kernels. Access to the wasm heap follows native-kernels.md: allocate
 * the output first, then take heap views (allocation can grow the heap and detach older views).
 */

interface WasmBackendLike {
  incRef(dataId: object): void
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array
}

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>
  backend: WasmBackendLike
  attrs: Record<string, unknown>
}

const MARK = Symbol.for("conceptscope.wasmKernels")

function override(name: string, make: (orig: tf.KernelFunc) => (args: KernelArgs) => tf.TensorInfo): void {
  const k = tf.getKernel(name, "wasm")
  if (!k) return
  if ((k.kernelFunc as unknown as Record<symbol, boolean>)[MARK]) return // already installed
  const orig = k.kernelFunc
  const fn = make(orig) as unknown as tf.KernelFunc
  ;(fn as unknown as Record<symbol, boolean>)[MARK] = true
  tf.unregisterKernel(name, "wasm")
  tf.registerKernel({ ...k, kernelFunc: fn })
}

const zeroCopy = (x: tf.TensorInfo, backend: WasmBackendLike): tf.TensorInfo => {
  backend.incRef(x.dataId)
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype }
}

/** Sum of x [rows, cols] (row-major) over rows -> out [cols]. */
export function sumLeadingInto(x: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const acc = new Float64Array(cols)
  let r = 0
  // four rows at a time: a quarter of the accumulator traffic (3-4x faster than one row at a time)
  for (; r + 4 <= rows; r += 4) {
    const b0 = r * cols
    const b1 = b0 + cols
    const b2 = b1 + cols
    const b3 = b2 + cols
    for (let c = 0; c < cols; c++) acc[c] += x[b0 + c] + x[b1 + c] + (x[b2 + c] + x[b3 + c])
  }
  for (; r < rows; r++) {
    const base = r * cols
    for (let c = 0; c < cols; c++) acc[c] += x[base + c]
  }
  for (let c = 0; c < cols; c++) out[c] = acc[c]
}

/** Install the replacements on the wasm backend (idempotent; no-op for kernels already replaced). */
export function installWasmKernels(): void {
  override("Identity", (orig) => (args) => {
    const { x } = args.inputs
    if (x.dtype === "string") return orig(args as never) as tf.TensorInfo
    return zeroCopy(x, args.backend)
  })
  override("Cast", (orig) => (args) => {
    const { x } = args.inputs
    if (x.dtype === args.attrs.dtype && x.dtype !== "string") return zeroCopy(x, args.backend)
    return orig(args as never) as tf.TensorInfo
  })
  override("Sum", (orig) => (args) => {
    const { x } = args.inputs
    const shape = x.shape
    if (x.dtype !== "float32" || shape.length < 2) return orig(args as never) as tf.TensorInfo
    const axes = tf.util.parseAxisParam(args.attrs.axis as number | number[], shape).slice().sort((a, b) => a - b)
    // only one contiguous block of axes [a0, a1) that does not reach the last axis
    const a0 = axes[0]
    const a1 = a0 + axes.length
    if (axes.length === 0 || a1 >= shape.length || axes.some((a, i) => a !== a0 + i)) {
      return orig(args as never) as tf.TensorInfo
    }
    const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1)
    const outer = prod(shape.slice(0, a0))
    const rows = prod(shape.slice(a0, a1))
    const cols = prod(shape.slice(a1))
    const outShape = args.attrs.keepDims
      ? shape.map((d, i) => (i >= a0 && i < a1 ? 1 : d))
      : shape.filter((_, i) => i < a0 || i >= a1)
    const out = args.backend.makeOutput(outShape, "float32")
    // views after allocation (allocation may grow and detach the heap)
    const xv = args.backend.typedArrayFromHeap(x) as Float32Array // [outer, rows, cols]
    const ov = args.backend.typedArrayFromHeap(out) as Float32Array // [outer, cols]
    for (let o = 0; o < outer; o++) {
      sumLeadingInto(xv.subarray(o * rows * cols, (o + 1) * rows * cols), rows, cols, ov.subarray(o * cols, (o + 1) * cols))
    }
    return out
  })
}
