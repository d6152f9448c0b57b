import type * as tf from "@tensorflow/tfjs"
import type { KernelsAddon } from "../addon"
import { offsetOf, overrideKernel, sizeOf } from "../wasm-backend"

/** Float32 Tanh in native code (stock wasm tanh costs about 30 ns per value here). */
export function installUnary(addon: KernelsAddon): string[] {
  const ok = overrideKernel("Tanh", (orig) => (args) => {
    const x = args.inputs.x as tf.TensorInfo
    if (x.dtype !== "float32") return orig(args)
    const out = args.backend.makeOutput(x.shape.slice(), "float32")
    addon.unary(args.backend.wasm.HEAPF32, offsetOf(args.backend, x), offsetOf(args.backend, out), sizeOf(x.shape), 0)
    return out
  })
  return ok ? ["Tanh"] : []
}
