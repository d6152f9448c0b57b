import type * as tf from "@tensorflow/tfjs"
import { overrideKernel, zeroCopy } from "../wasm-backend.js"

/**
 * Pure-JS replacements that need no addon:
 * - Identity: zero-copy (incRef the input's data). tfjs tensors are immutable, and autograd clones every
 *   tensor it saves for the backward pass, so the stock copying Identity cost about 10% of a step.
 * - Cast to the same dtype: zero-copy too (tfjs's Multiply gradient casts float32 to float32).
 */
export function installZeroCopy(): string[] {
  const done: string[] = []
  if (
    overrideKernel("Identity", (orig) => (args) => {
      const x = args.inputs.x as tf.TensorInfo
      return x.dtype === "string" ? orig(args) : zeroCopy(x, args.backend)
    })
  )
    done.push("Identity")
  if (
    overrideKernel("Cast", (orig) => (args) => {
      const x = args.inputs.x as tf.TensorInfo
      return x.dtype === args.attrs.dtype && x.dtype !== "string" ? zeroCopy(x, args.backend) : orig(args)
    })
  )
    done.push("Cast")
  return done
}
