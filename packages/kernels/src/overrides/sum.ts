import * as tf from "@tensorflow/tfjs"
import type { KernelsAddon } from "../addon.js"
import { offsetOf, overrideKernel, sizeOf } from "../wasm-backend.js"

/** Sum of x [rows, cols] (row-major) over rows -> out [cols], float64 accumulators (the no-addon path). */
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

/**
 * Sum of a float32 tensor over one contiguous block of axes [a0, a1): x viewed as [outer, rows, cols].
 * With the addon any such block (trailing included: cols = 1); without it only blocks that leave a
 * trailing axis (the gradient of every broadcast bias/scale add), in JS over the wasm heap instead of
 * the stock transpose + reduce (0.5 -> 0.13 ms for [1280, 64] over axis 0). Float64 accumulators.
 * Non-contiguous axes go to the stock kernel.
 */
export function installSum(addon: KernelsAddon | null): string[] {
  const ok = overrideKernel("Sum", (orig) => (args) => {
    const x = args.inputs.x as tf.TensorInfo
    const shape = x.shape
    if (x.dtype !== "float32" || shape.length < 1 || sizeOf(shape) === 0) return orig(args)
    const axes = tf.util.parseAxisParam(args.attrs.axis as number | number[], shape).slice().sort((a, b) => a - b)
    const a0 = axes[0]
    const a1 = a0 + axes.length
    if (axes.length === 0 || axes.some((a, i) => a !== a0 + i)) return orig(args)
    if (!addon && a1 >= shape.length) return orig(args)
    const outer = sizeOf(shape.slice(0, a0))
    const rows = sizeOf(shape.slice(a0, a1))
    const cols = sizeOf(shape.slice(a1))
    const outShape = args.attrs.keepDims ? shape.map((d, i) => (i >= a0 && i < a1 ? 1 : d)) : shape.filter((_, i) => i < a0 || i >= a1)
    const out = args.backend.makeOutput(outShape, "float32")
    if (addon) {
      addon.sumMiddle(args.backend.wasm.HEAPF32, offsetOf(args.backend, x), offsetOf(args.backend, out), outer, rows, cols)
      return out
    }
    const xv = args.backend.typedArrayFromHeap(x) as Float32Array // [outer, rows, cols]
    const ov = args.backend.typedArrayFromHeap(out) as Float32Array // [outer, cols]
    for (let o = 0; o < outer; o++) {
      sumLeadingInto(xv.subarray(o * rows * cols, (o + 1) * rows * cols), rows, cols, ov.subarray(o * cols, (o + 1) * cols))
    }
    return out
  })
  return ok ? ["Sum"] : []
}
