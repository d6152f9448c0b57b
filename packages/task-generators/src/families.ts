/**
 * A mixture of regression families (the study's appendix variant): each concept is a function family
 * rather than a basis. For weight w [D] and input x [D]:
 *
 *   linear         y = w.x,                           w_j ~ N(0, s^2 r / D) on every coordinate
 *   sparse-linear  y = w.x,                           w_j ~ N(0, s^2) on r coordinates drawn per w
 *   leaky-relu     y = c * leaky(w.x),  slope 0.1,    w as for linear, c = sqrt(2 / (1 + 0.1^2))
 *   quadratic      y = sum_j w_j (x_j^2 - 1),         w_j ~ N(0, s^2 r / (2D))
 *
 * (s = weightScale, r = rank.) Every family has E[y^2] = r s^2 before noise (leaky-relu: exactly the
 * second moment), the signal of one rank-r basis, so no family wins the loss by its scale alone.
 */
import type { Rng } from "@conceptscope/core"
import type { Family } from "./params.js"

const LEAKY_SLOPE = 0.1
const LEAKY_GAIN = Math.sqrt(2 / (1 + LEAKY_SLOPE ** 2))

/** Draw one weight vector of `family` into out [D] (zeroed first). */
export function drawFamilyWeight(family: Family, rng: Rng, D: number, r: number, scale: number, out: Float32Array): void {
  out.fill(0)
  if (family === "sparse-linear") {
    const idx = Array.from({ length: D }, (_, j) => j)
    for (let t = 0; t < r; t++) {
      const j = t + rng.int(D - t) // partial Fisher-Yates: r distinct coordinates
      ;[idx[t], idx[j]] = [idx[j], idx[t]]
      out[idx[t]] = scale * rng.normal()
    }
    return
  }
  const std = scale * Math.sqrt((family === "quadratic" ? r / 2 : r) / D)
  for (let j = 0; j < D; j++) out[j] = std * rng.normal()
}

/** f(w, x) of `family` for one example (w [D], x [D] at offset xOff), in float64. */
export function familyValue(family: Family, w: Float32Array, wOff: number, x: Float32Array, xOff: number, D: number): number {
  let v = 0
  if (family === "quadratic") {
    for (let j = 0; j < D; j++) v += w[wOff + j] * (x[xOff + j] * x[xOff + j] - 1)
    return v
  }
  for (let j = 0; j < D; j++) v += w[wOff + j] * x[xOff + j]
  return family === "leaky-relu" ? LEAKY_GAIN * (v >= 0 ? v : LEAKY_SLOPE * v) : v
}
