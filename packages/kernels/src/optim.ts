import { loadNative } from "./addon.js"
import { nativeMatmulActive } from "./install.js"

/**
 * Adam's per-element update in the addon (native/optim.h), bit for bit the JS loop of
 * @conceptscope/finetuners' Adam: p, m, v updated in place. Returns false (nothing done) when the native
 * kernels are not active, and the caller runs its own loop.
 */
export function nativeAdamStep(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  c: { readonly gradScale: number; readonly b1: number; readonly b2: number; readonly stepSize: number; readonly sqrtBc2: number; readonly eps: number; readonly decay: number }
): boolean {
  const native = loadNative()
  if (!native.ok || !nativeMatmulActive()) return false
  native.addon.adamStep(p, g, m, v, Float64Array.of(c.gradScale, c.b1, c.b2, c.stepSize, c.sqrtBc2, c.eps, c.decay))
  return true
}
