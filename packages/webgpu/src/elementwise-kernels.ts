import type * as tf from "@tensorflow/tfjs"
import { elementwise, i, type WebgpuBackendLike } from "./program.js"

/**
 * Elementwise WGSL kernels: GELU (tanh form) and its gradient, the rotary embedding, and the gated MLP's
 * act(g) * u with its gradient. Same contracts as the native kernels of @conceptscope/kernels (same
 * kernel names and inputs), one invocation per output element.
 */

// tanh of a clamped argument: some drivers compute tanh through exp and return NaN past |x| ~ 44;
// tanh(15) already rounds to 1 in float32.
const MATH = `
  const GELU_C : f32 = 0.7978845608028654;
  const GELU_A : f32 = 0.044715;
  fn tanhS(x : f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
  fn gelu(x : f32) -> f32 { return 0.5 * x * (1.0 + tanhS(GELU_C * (x + GELU_A * x * x * x))); }
  fn geluD(x : f32) -> f32 {
    let t = tanhS(GELU_C * (x + GELU_A * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_C * (1.0 + 3.0 * GELU_A * x * x);
  }
  fn sigm(x : f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
  // kind 0: silu, 1: gelu (tanh form)
  fn act(g : f32, kind : i32) -> f32 { if (kind == 0) { return g * sigm(g); } return gelu(g); }
  fn actD(g : f32, kind : i32) -> f32 {
    if (kind == 0) { let s = sigm(g); return s * (1.0 + g * (1.0 - s)); }
    return geluD(g);
  }
`

type Run = (backend: WebgpuBackendLike, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown>) => tf.TensorInfo | tf.TensorInfo[]

export const gelu: Run = (backend, { x }) =>
  backend.runWebGPUProgram(elementwise({ key: "gelu", inputs: ["x"], outShape: x.shape.slice(), helpers: MATH, body: "result[index] = gelu(x[index]);" }), [x], "float32")

export const geluGrad: Run = (backend, { x, dy }) =>
  backend.runWebGPUProgram(
    elementwise({ key: "gelu_grad", inputs: ["x", "dy"], outShape: x.shape.slice(), helpers: MATH, body: "result[index] = dy[index] * geluD(x[index]);" }),
    [x, dy],
    "float32"
  )

/** x [rows, heads, dim], cosT and sinT [rows, 1, dim]: x cos + rotate_half(x) sin. */
export const rope: Run = (backend, { x, cos, sin }) => {
  const [, heads, dim] = x.shape
  const program = elementwise({
    key: "rope",
    inputs: ["x", "cosT", "sinT"],
    outShape: x.shape.slice(),
    uniforms: "heads : i32, dim : i32,",
    body: `
      let half = uniforms.dim / 2;
      let d = index % uniforms.dim;
      let r = index / (uniforms.dim * uniforms.heads);
      let cs = r * uniforms.dim + d;
      var rot = 0.0;
      if (d < half) { rot = -x[index + half]; } else { rot = x[index - half]; }
      result[index] = x[index] * cosT[cs] + rot * sinT[cs];`
  })
  return backend.runWebGPUProgram(program, [x, cos, sin], "float32", [i(heads), i(dim)])
}

export const gatedAct: Run = (backend, { g, u }, attrs) =>
  backend.runWebGPUProgram(
    elementwise({ key: "gated_act", inputs: ["g", "u"], outShape: g.shape.slice(), uniforms: "kind : i32,", helpers: MATH, body: "result[index] = act(g[index], uniforms.kind) * u[index];" }),
    [g, u],
    "float32",
    [i(attrs.kind as number)]
  )

/** dg = dy u act'(g), du = dy act(g). */
export const gatedActGrad: Run = (backend, { dy, g, u }, attrs) => {
  const kind = [i(attrs.kind as number)]
  const dg = backend.runWebGPUProgram(
    elementwise({ key: "gated_act_dg", inputs: ["dy", "g", "u"], outShape: g.shape.slice(), uniforms: "kind : i32,", helpers: MATH, body: "result[index] = dy[index] * u[index] * actD(g[index], uniforms.kind);" }),
    [dy, g, u],
    "float32",
    kind
  )
  const du = backend.runWebGPUProgram(
    elementwise({ key: "gated_act_du", inputs: ["dy", "g"], outShape: g.shape.slice(), uniforms: "kind : i32,", helpers: MATH, body: "result[index] = dy[index] * act(g[index], uniforms.kind);" }),
    [dy, g],
    "float32",
    kind
  )
  return [dg, du]
}
