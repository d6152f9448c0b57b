import { Rng } from "@conceptscope/core"
import { taskDecodability } from "@conceptscope/probes"

/**
 * Milliseconds of one taskDecodability call (k = 10, euclidean) on n points x d dims drawn as 7
 * Gaussian clusters from Rng(0), measured after one warm-up call on the active tensor backend.
 */
export function benchTD(n = 700, d = 4096): number {
  const rng = new Rng(0)
  const nClasses = 7
  const centres = rng.normals(nClasses * d, 0.05) // [nClasses, d]
  const labels = new Int32Array(n).map((_, i) => i % nClasses) // [n]
  const X = rng.normals(n * d) // [n, d]
  for (let i = 0; i < n; i++) for (let m = 0; m < d; m++) X[i * d + m] += centres[labels[i] * d + m]
  taskDecodability(X, labels, nClasses)
  const t0 = performance.now()
  taskDecodability(X, labels, nClasses)
  return performance.now() - t0
}
