import * as tf from "@tensorflow/tfjs"
import { describeAdapter, noHardwareGpu, startDawn, WebgpuUnavailable } from "./dawn.js"
import { installWebgpuKernels } from "./install.js"
import { patchReadSync } from "./sync-readback.js"

/**
 * Make "webgpu" tfjs's active backend: Dawn's adapter, tfjs-backend-webgpu, then the WGSL kernels.
 * Returns what the backend line should say (the adapter, the kernels). Throws WebgpuUnavailable, with
 * what to install, when Dawn or an adapter is missing, and when `hardwareOnly` meets a software adapter.
 */
export async function activateWebgpu(opts: { readonly hardwareOnly: boolean }): Promise<string[]> {
  const noGpu = opts.hardwareOnly ? noHardwareGpu() : null
  if (noGpu !== null) throw new WebgpuUnavailable(noGpu)
  const adapter = await startDawn()
  if (adapter.software && opts.hardwareOnly) throw new WebgpuUnavailable(`${describeAdapter(adapter)} is not a GPU; auto never picks it (--backend webgpu does)`)
  try {
    const mod = (await import(/* @vite-ignore */ "@tensorflow/tfjs-backend-webgpu")) as { WebGPUBackend: { prototype: { readSync: (id: object) => unknown } } }
    patchReadSync(mod.WebGPUBackend.prototype)
  } catch (e) {
    throw new WebgpuUnavailable(`@tensorflow/tfjs-backend-webgpu is not installed (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`)
  }
  if (!(await tf.setBackend("webgpu"))) throw new WebgpuUnavailable(`tfjs could not start its webgpu backend on ${describeAdapter(adapter)}`)
  await tf.ready()
  const kernels = installWebgpuKernels()
  return [`adapter ${describeAdapter(adapter)}`, kernels.length > 0 ? `${kernels.length} WGSL kernels` : "WGSL kernels off (CONCEPTSCOPE_WGSL=0)"]
}
