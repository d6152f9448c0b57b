import * as tf from "@tensorflow/tfjs"
import { BackendError, ForwardError } from "./errors.js"
import { installWasmKernels, nativeMatmulActive } from "@conceptscope/kernels"

/**
 * Tensor backend selection and the few wasm-specific workarounds the models need.
 *
 * Order for "auto": tfjs-node-gpu (CUDA) > webgpu (a hardware adapter only) > tfjs-node (libtensorflow) >
 * wasm (XNNPACK, ships with npm) > cpu. tfjs-node(-gpu) and webgpu's packages are optional installs, tried
 * through a dynamic `import()` and skipped cleanly when absent.
 * - webgpu (@conceptscope/webgpu: Dawn + tfjs-backend-webgpu + WGSL kernels) is taken by "auto" only on a
 *   hardware adapter; a software one (lavapipe) only when asked for by name. Asked for by name, it never
 *   falls back: without Dawn or an adapter it fails with what to install.
 * - `CONCEPTSCOPE_BACKEND` (same names) replaces "auto"; an explicit argument wins over the variable.
 * - On wasm it also installs the kernel replacements of @conceptscope/kernels: native ones over CBLAS when
 *   the addon and a BLAS load (CONCEPTSCOPE_NATIVE=0 turns them off), else zero-copy Identity/Cast and a JS Sum.
 */
export type BackendPref = "auto" | "tfjs-node-gpu" | "webgpu" | "tfjs-node" | "wasm" | "cpu"

export interface BackendInfo {
  /** Our name for the backend: tfjs-node-gpu | webgpu | tfjs-node | wasm | cpu. */
  readonly name: Exclude<BackendPref, "auto">
  /** Why this one was chosen (which preference, which candidates failed). */
  readonly reason: string
}

const PREFS: ReadonlyArray<BackendPref> = ["auto", "tfjs-node-gpu", "webgpu", "tfjs-node", "wasm", "cpu"]
type Concrete = Exclude<BackendPref, "auto">

/** tfjs registers tfjs-node and tfjs-node-gpu under the same backend name. */
const TF_NAME: Record<Concrete, string> = {
  "tfjs-node-gpu": "tensorflow",
  "tfjs-node": "tensorflow",
  webgpu: "webgpu",
  wasm: "wasm",
  cpu: "cpu"
}

// One initialisation per requested preference; tfjs's active backend is process-global anyway.
const initialised = new Map<BackendPref, Promise<BackendInfo>>()

/**
 * Start one backend; null when it is active, else why not. `extra` receives what the backend line should
 * add (the adapter, the kernels installed). webgpu with `hardwareOnly` refuses a software adapter.
 */
async function tryBackend(name: Concrete, hardwareOnly: boolean, extra: string[]): Promise<string | null> {
  try {
    if (name === "tfjs-node-gpu" || name === "tfjs-node") {
      const pkg = `@tensorflow/${name}`
      await import(/* @vite-ignore */ pkg)
    } else if (name === "wasm") {
      await import("@tensorflow/tfjs-backend-wasm")
    } else if (name === "webgpu") {
      const wg = await import("@conceptscope/webgpu")
      extra.push(...(await wg.activateWebgpu({ hardwareOnly })))
      return null
    }
    const ok = await tf.setBackend(TF_NAME[name])
    if (!ok) return `tf.setBackend("${TF_NAME[name]}") returned false`
    await tf.ready()
    return null
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e)
    return msg.length > 240 ? msg.slice(0, 237) + "..." : msg
  }
}

/**
 * Pick and activate a backend; logs one line on stderr (unless CONCEPTSCOPE_QUIET=1).
 * Idempotent: calling it again with the same preference returns the same answer without re-initialising.
 */
export function initBackend(pref: BackendPref = "auto"): Promise<BackendInfo> {
  let effective = pref
  let source = `argument "${pref}"`
  const env = process.env.CONCEPTSCOPE_BACKEND
  if (pref === "auto" && env !== undefined && env !== "") {
    if (!PREFS.includes(env as BackendPref)) {
      return Promise.reject(
        new BackendError({ backend: env, reason: `CONCEPTSCOPE_BACKEND is not one of ${PREFS.join(", ")}` })
      )
    }
    effective = env as BackendPref
    source = `CONCEPTSCOPE_BACKEND=${env}`
  }
  const existing = initialised.get(effective)
  if (existing) {
    // same answer; re-activate it if something switched tfjs to another backend since
    return existing.then(async (info) => {
      if (tf.getBackend() !== TF_NAME[info.name]) await tf.setBackend(TF_NAME[info.name])
      return info
    })
  }
  const p = (async (): Promise<BackendInfo> => {
    // an explicit choice that is unavailable falls back down the same order, except webgpu, which a user
    // names to get the GPU: falling back to a CPU backend would hide that it is missing
    const order: Concrete[] = ["tfjs-node-gpu", "webgpu", "tfjs-node", "wasm", "cpu"]
    const candidates = effective === "auto" ? order : effective === "webgpu" ? ["webgpu" as const] : order.slice(order.indexOf(effective as Concrete))
    const failures: string[] = []
    for (const c of candidates) {
      const extra: string[] = []
      const err = await tryBackend(c, effective !== "webgpu", extra)
      if (err === null) {
        if (c === "wasm") extra.push(installWasmKernels().reason)
        const reason =
          (failures.length === 0
            ? `${source}${effective === "auto" ? `, first available` : ""}`
            : `${source}; unavailable: ${failures.join("; ")}`) + extra.map((e) => `; ${e}`).join("")
        const info: BackendInfo = { name: c, reason }
        if (process.env.CONCEPTSCOPE_QUIET !== "1") {
          process.stderr.write(`[backend] using ${c} (${reason})\n`)
        }
        return info
      }
      failures.push(`${c}: ${err}`)
    }
    if (effective === "webgpu") throw new BackendError({ backend: "webgpu", reason: failures[0].slice("webgpu: ".length) })
    throw new BackendError({ backend: effective, reason: `none could be initialised: ${failures.join("; ")}` })
  })()
  initialised.set(effective, p)
  return p
}

/** True when the active tfjs backend is webgpu. */
export const onWebgpu = (): boolean => tf.getBackend() === "webgpu"

/** True when the active tfjs backend is wasm. */
export const onWasm = (): boolean => tf.getBackend() === "wasm"

/**
 * True on wasm with its stock matmul kernels, whose transposed and batched forms take naive slow paths:
 * the models then use explicit transposes and depthwise-convolution attention. With the native kernels
 * (CBLAS) every matmul form is fast and the plain tfjs ops and gradients are used.
 */
export const stockWasmMatmul = (): boolean => onWasm() && !nativeMatmulActive()

/** Swap the last two axes: [..., m, n] -> [..., n, m]. */
export function transposeLast2(x: tf.Tensor): tf.Tensor {
  const r = x.rank
  if (r === 2) return tf.transpose(x)
  const perm = Array.from({ length: r }, (_, i) => i)
  perm[r - 2] = r - 1
  perm[r - 1] = r - 2
  return tf.transpose(x, perm)
}

/**
 * Matmul whose gradient uses explicit transposes + plain (non-transposed) matmuls.
 * On wasm, matMul with a transpose flag takes a naive slow path (measured here: 2D 5120x256 @ T
 * 755 ms vs 38 ms for transpose-then-matmul), and tfjs's built-in BatchMatMul gradient uses those flags.
 *   a [..., m, k], b [..., k, n] -> [..., m, n]; dA = dC @ B^T, dB = A^T @ dC
 */
const matmulExplicitGrad = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b])
  return {
    value: tf.matMul(a, b),
    // tidy: tfjs keeps every tensor created during backprop until the end unless a scope frees it
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      tf.tidy(() => {
        const [sa, sb] = saved
        return [tf.matMul(dy, transposeLast2(sb)), tf.matMul(transposeLast2(sa), dy)]
      })
  }
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor

/**
 * The matmul every model here uses.
 * - a [..., m, k] with b [k, n]: a is flattened to 2D first, because wasm's BatchMatMul with a batch
 *   dimension > 1 takes a naive path (measured 681 ms vs 47 ms for the same 5120x256x256 product as 2D).
 * - a [..., m, k] with b [..., k, n] (same batch dims, no broadcasting): batched product.
 * On wasm the gradient is the explicit-transpose one above; elsewhere tfjs's built-in gradient.
 */
export function matmul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const mm = stockWasmMatmul() ? matmulExplicitGrad : (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y)
  if (b.rank === 2 && a.rank > 2) {
    const lead = a.shape.slice(0, -1)
    const k = a.shape[a.rank - 1]
    const out = mm(tf.reshape(a, [-1, k]), b) // [prod(lead), n]
    return tf.reshape(out, [...lead, b.shape[1] as number])
  }
  if (a.rank !== b.rank) {
    throw new ForwardError({ field: "matmul", reason: `ranks ${a.rank} and ${b.rank} (shapes [${a.shape}], [${b.shape}]) are not supported` })
  }
  for (let i = 0; i < a.rank - 2; i++) {
    if (a.shape[i] !== b.shape[i]) {
      throw new ForwardError({ field: "matmul", reason: `batch dims of [${a.shape}] and [${b.shape}] differ (no broadcasting)` })
    }
  }
  return mm(a, b)
}
