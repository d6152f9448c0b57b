import * as tf from "@tensorflow/tfjs"

/**
 * Whether every value of `t` is finite, with one reduction on the common path: the sum of finite values
 * is finite unless it overflows, so only a non-finite sum pays for the exact test (sum(t * 0) is 0 when
 * every value is finite and NaN otherwise).
 */
export function allFinite(t: tf.Tensor): boolean {
  const s = tf.tidy(() => tf.sum(t))
  const total = s.dataSync()[0]
  s.dispose()
  if (Number.isFinite(total)) return true
  const z = tf.tidy(() => tf.sum(tf.mul(t, 0)))
  const zero = z.dataSync()[0]
  z.dispose()
  return zero === 0
}

/** "hook_embed (the embedding)" / "blocks.3.hook_resid_post (layer 3)": how the non-finite errors name a hook. */
export const describeStreamHook = (hook: string): string => {
  const m = /^blocks\.(\d+)\.hook_resid_post$/.exec(hook)
  return m ? `${hook} (layer ${m[1]})` : hook === "hook_embed" ? "hook_embed (the embedding)" : hook
}
