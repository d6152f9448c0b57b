import type * as tf from "@tensorflow/tfjs"

/**
 * The WGSL programs of this package, in tfjs-backend-webgpu's program format (`WebGPUProgram`): the
 * backend prepends the bindings (`result`, then one `array<f32>` or `array<i32>` per input, named as in
 * `inputs`), a `uniforms` struct (shapes, then the program's own fields) and calls `main(index)`.
 *
 * Two shapes of program:
 * - elementwise: one invocation per output element, `index` its flat index (guarded by `uniforms.size`);
 * - rows: one workgroup of WG invocations per row (a softmax row, a normalised vector, a column sum), for
 *   reductions through workgroup memory. The row is `row()`, the invocation's lane `lane()`. Rows past
 *   the last (when the grid is rounded up) still reach every barrier but must not write.
 * Grids wider than WebGPU's 65,535 workgroups per dimension are folded into y.
 */

/** The parts of tfjs-backend-webgpu's WebGPUBackend these programs use. */
export interface WebgpuBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], outputDtype: tf.DataType, uniforms?: Uniform[], output?: tf.TensorInfo): tf.TensorInfo
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array | Int32Array): tf.TensorInfo
  disposeData(dataId: object, force?: boolean): boolean
}

export interface Uniform {
  readonly type: "float32" | "int32"
  readonly data: number[]
}

const MAX_GROUPS = 65535

/** A grid of `groups` workgroups, folded into [x, y, 1] within the per-dimension limit. */
export function grid(groups: number): [number, number, number] {
  const g = Math.max(1, groups)
  if (g <= MAX_GROUPS) return [g, 1, 1]
  const y = Math.ceil(g / MAX_GROUPS)
  return [Math.ceil(g / y), y, 1]
}

/** Workgroup width of row programs: wider for long rows. */
export const rowWidth = (n: number): number => (n >= 2048 ? 256 : 64)

/** WGSL helpers shared by row programs: the row index, the lane, and a workgroup sum / max over WG lanes. */
const ROW_PRELUDE = (wg: number) => `
  const WG = ${wg};
  var<workgroup> red : array<f32, ${wg}>;
  fn row() -> i32 { return i32(workgroupId.y * numWorkgroups.x + workgroupId.x); }
  fn lane() -> i32 { return i32(localId.x); }
  // every lane calls these (they hold barriers); each returns the combined value to every lane
  fn wgSum(v : f32) -> f32 {
    red[lane()] = v;
    workgroupBarrier();
    for (var s = WG / 2; s > 0; s = s / 2) {
      if (lane() < s) { red[lane()] = red[lane()] + red[lane() + s]; }
      workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
  }
  fn wgMax(v : f32) -> f32 {
    red[lane()] = v;
    workgroupBarrier();
    for (var s = WG / 2; s > 0; s = s / 2) {
      if (lane() < s) { red[lane()] = max(red[lane()], red[lane() + s]); }
      workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
  }
`

interface Spec {
  /** Cache key of the compiled shader: must change whenever the generated code does. */
  readonly key: string
  readonly inputs: string[]
  readonly outShape: number[]
  /** Extra uniform fields, WGSL struct syntax ("eps : f32, kind : i32,"). */
  readonly uniforms?: string
  /** WGSL statements of main's body; `index` is the invocation's flat index. */
  readonly body: string
  /** WGSL declared before main (helper functions). */
  readonly helpers?: string
}

/** tfjs-backend-webgpu's program object for an elementwise program over outShape. */
export function elementwise(spec: Spec): object {
  const size = spec.outShape.reduce((a, b) => a * b, 1)
  const wg = 64
  return {
    variableNames: spec.inputs,
    outputShape: spec.outShape,
    shaderKey: `cs_${spec.key}`,
    dispatchLayout: { x: spec.outShape.map((_, i) => i) },
    dispatch: grid(Math.ceil(size / wg)),
    workgroupSize: [wg, 1, 1],
    size: true,
    uniforms: spec.uniforms,
    getUserCode: () => `
      ${spec.helpers ?? ""}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${spec.body}
        }
      }`
  }
}

/** A row program: `rows` workgroups of rowWidth(width) lanes over outShape. */
export function rows(spec: Spec & { readonly rows: number; readonly width: number }): object {
  const wg = rowWidth(spec.width)
  return {
    variableNames: spec.inputs,
    outputShape: spec.outShape,
    shaderKey: `cs_${spec.key}_w${wg}`,
    dispatchLayout: { x: spec.outShape.map((_, i) => i) },
    dispatch: grid(spec.rows),
    workgroupSize: [wg, 1, 1],
    uniforms: `${spec.uniforms ?? ""} nRows : i32,`,
    getUserCode: () => `
      ${ROW_PRELUDE(wg)}
      ${spec.helpers ?? ""}
      fn main(index : i32) {
        let live = row() < uniforms.nRows;
        ${spec.body}
      }`
  }
}

/** Uniform values: floats and ints in declaration order. */
export const f = (...data: number[]): Uniform => ({ type: "float32", data })
export const i = (...data: number[]): Uniform => ({ type: "int32", data })

/** Run a row program, appending the nRows uniform its prelude declares. */
export function runRows(backend: WebgpuBackendLike, program: object & { dispatch: number[] }, nRows: number, inputs: tf.TensorInfo[], uniforms: Uniform[] = []): tf.TensorInfo {
  return backend.runWebGPUProgram(program, inputs, "float32", [...uniforms, i(nRows)])
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)
