import type * as tf from "@tensorflow/tfjs"
import { elementwise, f, i, rows, runRows, type WebgpuBackendLike } from "./program.js"

/**
 * Next-token cross-entropy as WGSL programs, same contract as the native kernels:
 *   CsCrossEntropy(x [N, V]; targets)           -> loss [1] (sum over scored rows), lse [N]
 *   CsCrossEntropyGrad(x, lse; targets, scale)  -> scale (softmax(x) - onehot) on scored rows, 0 elsewhere
 * targets (-1: row not scored) arrive as an Int32Array attribute and are uploaded once per call.
 */

type Run = (backend: WebgpuBackendLike, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown>) => tf.TensorInfo | tf.TensorInfo[]

function uploadTargets(backend: WebgpuBackendLike, targets: Int32Array): tf.TensorInfo {
  return backend.makeTensorInfo([targets.length], "int32", targets)
}

export const crossEntropy: Run = (backend, { x }, attrs) => {
  const [N, V] = x.shape
  const targets = uploadTargets(backend, attrs.targets as Int32Array)
  const lse = runRows(
    backend,
    rows({
      key: "ce_lse",
      inputs: ["x"],
      outShape: [N],
      rows: N,
      width: V,
      uniforms: "V : i32,",
      body: `
        var m = -3.402823e+38;
        for (var c = lane(); live && c < uniforms.V; c += WG) { m = max(m, x[row() * uniforms.V + c]); }
        let mx = wgMax(m);
        var s = 0.0;
        for (var c = lane(); live && c < uniforms.V; c += WG) { s += exp(x[row() * uniforms.V + c] - mx); }
        let total = wgSum(s);
        if (live && lane() == 0) { result[row()] = mx + log(total); }`
    }) as never,
    N,
    [x],
    [i(V)]
  )
  const loss = runRows(
    backend,
    rows({
      key: "ce_loss",
      inputs: ["x", "lse", "targets"],
      outShape: [1],
      rows: 1,
      width: N,
      uniforms: "N : i32, V : i32,",
      body: `
        var s = 0.0;
        for (var r = lane(); live && r < uniforms.N; r += WG) {
          let t = targets[r];
          if (t >= 0) { s += lse[r] - x[r * uniforms.V + t]; }
        }
        let total = wgSum(s);
        if (live && lane() == 0) { result[0] = total; }`
    }) as never,
    1,
    [x, lse, targets],
    [i(N), i(V)]
  )
  backend.disposeData(targets.dataId)
  return [loss, lse]
}

export const crossEntropyGrad: Run = (backend, { x, lse }, attrs) => {
  const [N, V] = x.shape
  const targets = uploadTargets(backend, attrs.targets as Int32Array)
  const out = backend.runWebGPUProgram(
    elementwise({
      key: "ce_grad",
      inputs: ["x", "lse", "targets"],
      outShape: [N, V],
      uniforms: "V : i32, scale : f32,",
      body: `
        let r = index / uniforms.V;
        let t = targets[r];
        if (t < 0) { result[index] = 0.0; } else {
          var g = exp(x[index] - lse[r]);
          if (index % uniforms.V == t) { g = g - 1.0; }
          result[index] = uniforms.scale * g;
        }`
    }),
    [x, lse, targets],
    "float32",
    [i(V), f(attrs.scale as number)]
  )
  backend.disposeData(targets.dataId)
  return out
}
