import * as tf from "@tensorflow/tfjs"
import type { KernelsAddon } from "../addon.js"
import { offsetOf, overrideKernel, sizeOf, stridesOf, type WasmBackend } from "../wasm-backend.js"

/** out (contiguous, `shape`) <- x viewed from element `start` with `strides`. */
function gather(addon: KernelsAddon, backend: WasmBackend, x: tf.TensorInfo, shape: number[], start: number, strides: number[]): tf.TensorInfo {
  const out = backend.makeOutput(shape, "float32")
  if (sizeOf(shape) === 0) return out
  addon.stridedCopy(backend.wasm.HEAPF32, offsetOf(backend, x) + start, offsetOf(backend, out), Int32Array.from(shape), Float64Array.from(strides))
  return out
}

/**
 * Strided copies for float32 Transpose (any permutation: the rank-4/5 head reshapes of attention),
 * Slice and Unpack (one output per index along the axis). Other dtypes go to the stock kernels.
 */
export function installLayout(addon: KernelsAddon): string[] {
  const done: string[] = []
  if (
    overrideKernel("Transpose", (orig) => (args) => {
      const x = args.inputs.x as tf.TensorInfo
      const perm = args.attrs.perm as number[]
      if (x.dtype !== "float32" || x.shape.length === 0 || sizeOf(x.shape) === 0) return orig(args)
      const xs = stridesOf(x.shape)
      return gather(addon, args.backend, x, perm.map((p) => x.shape[p]), 0, perm.map((p) => xs[p]))
    })
  )
    done.push("Transpose")
  if (
    overrideKernel("Slice", (orig) => (args) => {
      const x = args.inputs.x as tf.TensorInfo
      if (x.dtype !== "float32" || x.shape.length === 0 || sizeOf(x.shape) === 0) return orig(args)
      const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, args.attrs.begin as number[], args.attrs.size as number[])
      const xs = stridesOf(x.shape)
      const start = begin.reduce((acc, b, d) => acc + b * xs[d], 0)
      return gather(addon, args.backend, x, size, start, xs)
    })
  )
    done.push("Slice")
  if (
    overrideKernel("Unpack", (orig) => (args) => {
      const x = args.inputs.value as tf.TensorInfo
      if (x.dtype !== "float32" || sizeOf(x.shape) === 0) return orig(args)
      const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0]
      const xs = stridesOf(x.shape)
      const shape = x.shape.filter((_, d) => d !== axis)
      const strides = xs.filter((_, d) => d !== axis)
      const outs: tf.TensorInfo[] = []
      for (let i = 0; i < x.shape[axis]; i++) outs.push(gather(addon, args.backend, x, shape, i * xs[axis], strides))
      return outs
    })
  )
    done.push("Unpack")
  return done
}
