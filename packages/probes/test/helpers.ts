import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import { Rng } from "@conceptscope/core"

export async function useWasm(): Promise<void> {
  await tf.setBackend("wasm")
  await tf.ready()
}

/** nClasses Gaussian clusters of `perClass` points in d dims: centres N(0, spread^2), noise N(0, 1). */
export function clusters(rng: Rng, nClasses: number, perClass: number, d: number, spread: number) {
  const centres = rng.normals(nClasses * d, spread) // [nClasses, d]
  const n = nClasses * perClass
  const labels = new Int32Array(n).map((_, i) => i % nClasses) // [n]
  const X = rng.normals(n * d) // [n, d]
  for (let i = 0; i < n; i++) for (let m = 0; m < d; m++) X[i * d + m] += centres[labels[i] * d + m]
  return { X, labels, n }
}

/** Random integer points in lo..hi (many exact distance ties) and random labels. */
export function integerPoints(rng: Rng, n: number, d: number, lo: number, hi: number, nClasses: number) {
  const X = new Float32Array(n * d).map(() => lo + rng.int(hi - lo + 1)) // [n, d]
  const labels = new Int32Array(n).map(() => rng.int(nClasses)) // [n]
  return { X, labels }
}

export function randomLabelled(rng: Rng, n: number, d: number, nClasses: number) {
  return { X: rng.normals(n * d), labels: new Int32Array(n).map(() => rng.int(nClasses)) }
}
