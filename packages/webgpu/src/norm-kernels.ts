import type * as tf from "@tensorflow/tfjs"
import { elementwise, f, i, rows, runRows, sizeOf, type WebgpuBackendLike } from "./program.js"

/**
 * LayerNorm and RMSNorm over the last axis, with their gradients, as WGSL row programs (one workgroup
 * per row, reductions in workgroup memory) and column sums for the weight gradients. Same contracts as
 * the native kernels: CsLayerNorm(x, w, b; eps) -> y, xhat, rstd; CsLayerNormGrad(dy, xhat, rstd, w) ->
 * dx, dw, db; CsRmsNorm(x, w; eps, onePlus) -> y; CsRmsNormGrad(dy, x, w; eps, onePlus) -> dx, dw.
 */

type Run = (backend: WebgpuBackendLike, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown>) => tf.TensorInfo | tf.TensorInfo[]

const lastDim = (x: tf.TensorInfo) => x.shape[x.shape.length - 1]

// mean and 1/sqrt(var + eps) of row `row()` of x [rows, d] (two passes, as the native kernel)
const ROW_STATS = `
  var s = 0.0;
  for (var c = lane(); live && c < uniforms.d; c += WG) { s += x[row() * uniforms.d + c]; }
  let mean = wgSum(s) / f32(uniforms.d);
  var q = 0.0;
  for (var c = lane(); live && c < uniforms.d; c += WG) { let t = x[row() * uniforms.d + c] - mean; q += t * t; }
  let rs = 1.0 / sqrt(wgSum(q) / f32(uniforms.d) + uniforms.eps);`

/** Sum over rows of `expr` (in terms of r, j, d) for each column j: out [d]. */
function columnSum(backend: WebgpuBackendLike, key: string, inputs: Record<string, tf.TensorInfo>, expr: string, nRows: number, d: number): tf.TensorInfo {
  const names = Object.keys(inputs)
  const program = rows({
    key: `colsum_${key}`,
    inputs: names,
    outShape: [d],
    rows: d,
    width: nRows,
    uniforms: "n : i32, d : i32,",
    body: `
      let j = row();
      var s = 0.0;
      for (var r = lane(); live && r < uniforms.n; r += WG) { let at = r * uniforms.d + j; s += ${expr}; }
      let t = wgSum(s);
      if (live && lane() == 0) { result[j] = t; }`
  })
  return runRows(backend, program as never, d, names.map((n) => inputs[n]), [i(nRows), i(d)])
}

export const layerNorm: Run = (backend, { x, w, b }, attrs) => {
  const d = lastDim(x)
  const n = sizeOf(x.shape) / d
  const u = [i(d), f(attrs.eps as number)]
  const rstd = runRows(
    backend,
    rows({ key: "ln_rstd", inputs: ["x"], outShape: [...x.shape.slice(0, -1), 1], rows: n, width: d, uniforms: "d : i32, eps : f32,", body: `${ROW_STATS}\n if (live && lane() == 0) { result[row()] = rs; }` }) as never,
    n,
    [x],
    u
  )
  const xhat = runRows(
    backend,
    rows({
      key: "ln_xhat",
      inputs: ["x"],
      outShape: x.shape.slice(),
      rows: n,
      width: d,
      uniforms: "d : i32, eps : f32,",
      body: `${ROW_STATS}
        for (var c = lane(); live && c < uniforms.d; c += WG) { let at = row() * uniforms.d + c; result[at] = (x[at] - mean) * rs; }`
    }) as never,
    n,
    [x],
    u
  )
  const y = backend.runWebGPUProgram(
    elementwise({ key: "ln_affine", inputs: ["xhat", "w", "b"], outShape: x.shape.slice(), uniforms: "d : i32,", body: "let j = index % uniforms.d; result[index] = xhat[index] * w[j] + b[j];" }),
    [xhat, w, b],
    "float32",
    [i(d)]
  )
  return [y, xhat, rstd]
}

/** dx = rstd (g - mean(g) - xhat mean(g xhat)) with g = dy w; dw = sum dy xhat; db = sum dy. */
export const layerNormGrad: Run = (backend, { dy, xhat, rstd, w }) => {
  const d = lastDim(dy)
  const n = sizeOf(dy.shape) / d
  const dx = runRows(
    backend,
    rows({
      key: "ln_dx",
      inputs: ["dy", "xhat", "rstd", "w"],
      outShape: dy.shape.slice(),
      rows: n,
      width: d,
      uniforms: "d : i32,",
      body: `
        var a = 0.0;
        var bsum = 0.0;
        for (var c = lane(); live && c < uniforms.d; c += WG) { let at = row() * uniforms.d + c; let g = dy[at] * w[c]; a += g; bsum += g * xhat[at]; }
        let mg = wgSum(a) / f32(uniforms.d);
        let mgx = wgSum(bsum) / f32(uniforms.d);
        for (var c = lane(); live && c < uniforms.d; c += WG) {
          let at = row() * uniforms.d + c;
          result[at] = rstd[row()] * (dy[at] * w[c] - mg - xhat[at] * mgx);
        }`
    }) as never,
    n,
    [dy, xhat, rstd, w],
    [i(d)]
  )
  const dw = columnSum(backend, "dy_xhat", { dy, xhat }, "dy[at] * xhat[at]", n, d)
  const db = columnSum(backend, "dy", { dy }, "dy[at]", n, d)
  return [dx, dw, db]
}

// 1 / sqrt(mean(x^2) + eps) of the row, and the scale w or 1 + w
const RMS = `
  var q = 0.0;
  for (var c = lane(); live && c < uniforms.d; c += WG) { let t = x[row() * uniforms.d + c]; q += t * t; }
  let rs = 1.0 / sqrt(wgSum(q) / f32(uniforms.d) + uniforms.eps);`
const SCALE = "fn scale(c : i32) -> f32 { if (uniforms.onePlus == 1) { return 1.0 + w[c]; } return w[c]; }"

export const rmsNorm: Run = (backend, { x, w }, attrs) => {
  const d = lastDim(x)
  const n = sizeOf(x.shape) / d
  const program = rows({
    key: "rms",
    inputs: ["x", "w"],
    outShape: x.shape.slice(),
    rows: n,
    width: d,
    uniforms: "d : i32, eps : f32, onePlus : i32,",
    helpers: SCALE,
    body: `${RMS}
      for (var c = lane(); live && c < uniforms.d; c += WG) { let at = row() * uniforms.d + c; result[at] = x[at] * rs * scale(c); }`
  })
  return runRows(backend, program as never, n, [x, w], [i(d), f(attrs.eps as number), i(attrs.onePlus as number)])
}

/** dx = rs g - x rs^3 mean(g x) with g = dy scale; dw = sum dy x rs (the row statistic recomputed). */
export const rmsNormGrad: Run = (backend, { dy, x, w }, attrs) => {
  const d = lastDim(x)
  const n = sizeOf(x.shape) / d
  const u = [i(d), f(attrs.eps as number), i(attrs.onePlus as number)]
  const uniforms = "d : i32, eps : f32, onePlus : i32,"
  const dx = runRows(
    backend,
    rows({
      key: "rms_dx",
      inputs: ["dy", "x", "w"],
      outShape: x.shape.slice(),
      rows: n,
      width: d,
      uniforms,
      helpers: SCALE,
      body: `${RMS}
        var a = 0.0;
        for (var c = lane(); live && c < uniforms.d; c += WG) { let at = row() * uniforms.d + c; a += dy[at] * scale(c) * x[at]; }
        let m = wgSum(a) / f32(uniforms.d);
        for (var c = lane(); live && c < uniforms.d; c += WG) {
          let at = row() * uniforms.d + c;
          result[at] = rs * dy[at] * scale(c) - x[at] * rs * rs * rs * m;
        }`
    }) as never,
    n,
    [dy, x, w],
    u
  )
  const rs = runRows(
    backend,
    rows({ key: "rms_rs", inputs: ["x"], outShape: [n], rows: n, width: d, uniforms, body: `${RMS}\n if (live && lane() == 0) { result[row()] = rs; }` }) as never,
    n,
    [x],
    u
  )
  const dw = columnSum(backend, "dy_x_rs", { dy, x, rs }, "dy[at] * x[at] * rs[r]", n, d)
  backend.disposeData(rs.dataId)
  return [dx, dw]
}
