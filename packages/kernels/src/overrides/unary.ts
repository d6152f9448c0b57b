import type * as tf from "@tensorflow/tfjs"
import type { KernelsAddon } from "../addon.js"
import { offsetOf, overrideKernel, sizeOf } from "../wasm-backend.js"

/**
 * Float32 Tanh (tanhf) and Exp (a vectorised exp, relative error < 2e-7, exact 0 / +inf outside float's
 * range) in native code: stock wasm spends 14-30 ns per value on either (Exp of the cross-entropy's
 * [5120, 256] logits took 18 ms per call in the GPT step).
 */
export function installUnary(addon: KernelsAddon): string[] {
  const kinds: [string, number][] = [["Tanh", 0], ["Exp", 2]]
  return kinds
    .filter(([name, kind]) =>
      overrideKernel(name, (orig) => (args) => {
        const x = args.inputs.x as tf.TensorInfo
        if (x.dtype !== "float32") return orig(args)
        const out = args.backend.makeOutput(x.shape.slice(), "float32")
        addon.unary(args.backend.wasm.HEAPF32, offsetOf(args.backend, x), offsetOf(args.backend, out), sizeOf(x.shape), kind)
        return out
      })
    )
    .map(([name]) => name)
}
