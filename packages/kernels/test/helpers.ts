import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import { expect } from "vitest"
import { installWasmKernels, uninstallWasmKernels } from "../src/index.js"

let seed = 1

export async function useWasm(): Promise<void> {
  await tf.setBackend("wasm")
  await tf.ready()
}

/** fn's outputs (as float arrays) with the stock kernels and with the native ones. */
export function bothWays(fn: () => tf.Tensor | tf.Tensor[]): { stock: Float32Array[]; native: Float32Array[]; shapes: number[][] } {
  const run = (): { vals: Float32Array[]; shapes: number[][] } =>
    tf.tidy(() => {
      const out = fn()
      const list = Array.isArray(out) ? out : [out]
      return { vals: list.map((t) => t.dataSync() as Float32Array), shapes: list.map((t) => t.shape) }
    })
  uninstallWasmKernels()
  const seed0 = seed
  const stock = run()
  seed = seed0 // the same random inputs for the second run
  const report = installWasmKernels()
  if (!report.native) throw new Error(`native kernels unavailable: ${report.reason}`)
  const native = run()
  expect(native.shapes).toEqual(stock.shapes)
  return { stock: stock.vals, native: native.vals, shapes: native.shapes }
}

function values(fn: () => tf.Tensor | tf.Tensor[]): Float32Array[] {
  return tf.tidy(() => {
    const out = fn()
    return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array)
  })
}

/** fn's outputs with the native kernels only (for inputs the stock kernel rejects or gets wrong). */
export function nativeOnly(fn: () => tf.Tensor | tf.Tensor[]): Float32Array[] {
  if (!installWasmKernels().native) throw new Error("native kernels unavailable")
  return values(fn)
}

/** fn's outputs on the pure-JS cpu backend (a second implementation); inputs made inside fn. */
export async function onCpu(fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  const s0 = seed
  await tf.setBackend("cpu")
  const out = values(fn)
  await tf.setBackend("wasm")
  seed = s0
  return out
}

/** max |a - b| / max(1, max |b|) over all outputs. */
export function relErr(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0
  for (let i = 0; i < a.length; i++) {
    expect(a[i].length).toBe(b[i].length)
    let scale = 1
    for (const v of b[i]) scale = Math.max(scale, Math.abs(v))
    for (let j = 0; j < a[i].length; j++) {
      const e = Math.abs(a[i][j] - b[i][j]) / scale
      if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e
    }
  }
  return worst
}

export const rand = (shape: number[]): tf.Tensor => tf.randomNormal(shape, 0, 1, "float32", seed++)
