import * as fs from "node:fs"
import { installDawnPump } from "./sync-readback.js"

/**
 * WebGPU in Node through Dawn (the npm `webgpu` package, whose native binary ships inside it): finds an
 * adapter, says what it is, and exposes it where tfjs-backend-webgpu looks for it (`navigator.gpu` and
 * the WebGPU globals such as GPUBufferUsage).
 *
 * A software adapter (Mesa's lavapipe, SwiftShader: Dawn marks them `isFallbackAdapter`, architecture
 * "software") is usable for correctness tests but is never what a user asking for a GPU wants, so
 * `auto` backend selection skips it; an explicit `webgpu` request takes it.
 */

/** What Dawn reports about the adapter it found. */
export interface AdapterReport {
  readonly vendor: string
  readonly architecture: string
  readonly device: string
  readonly description: string
  /** A CPU implementation of Vulkan (lavapipe, SwiftShader), not a GPU. */
  readonly software: boolean
  /** The adapter's largest storage-buffer binding, in bytes (the largest tensor one kernel can bind). */
  readonly maxStorageBufferBindingSize: number
}

/** The one-line summary printed on the backend line: vendor, device, driver, software or not. */
export function describeAdapter(a: AdapterReport): string {
  const what = a.description || [a.vendor, a.architecture, a.device].filter((s) => s !== "").join(" ")
  return `${what}${a.software ? " (software adapter)" : ""}`
}

/** Why WebGPU could not start, phrased as what to install. */
export class WebgpuUnavailable extends Error {
  override readonly name = "WebgpuUnavailable"
}

export const INSTALL_DAWN = "npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0 (optional dependencies of @conceptscope/webgpu)"
export const INSTALL_VULKAN =
  "install the GPU's Vulkan driver, or for a software adapter Mesa's lavapipe: apt-get install -t bookworm-backports mesa-vulkan-drivers"

interface AdapterLike {
  readonly info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean }
  readonly limits: { maxStorageBufferBindingSize: number }
}
interface GpuLike {
  requestAdapter(opts?: { powerPreference?: "high-performance" | "low-power" }): Promise<AdapterLike | null>
}

/**
 * Why this machine has no hardware GPU for Dawn to find, or null when it may have one. On Linux a GPU
 * driver exposes a device node (/dev/dri/renderD* for Mesa and AMD/Intel, /dev/nvidia* for NVIDIA,
 * /dev/dxg under WSL2); without one Dawn can only find a software adapter, so "auto" does not load Dawn
 * at all (loading it costs start-up time, and Mesa's lavapipe prints limit warnings on stderr). Other
 * platforms are probed.
 */
export function noHardwareGpu(dev = "/dev", platform: string = process.platform): string | null {
  if (platform !== "linux") return null
  const dri = fs.existsSync(`${dev}/dri`) ? fs.readdirSync(`${dev}/dri`).filter((f) => f.startsWith("renderD")) : []
  if (dri.length > 0 || ["nvidia0", "nvidiactl", "dxg"].some((f) => fs.existsSync(`${dev}/${f}`))) return null
  return "no GPU device node (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg): only a software adapter could be found, which auto never picks (--backend webgpu does)"
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe/i

let started: Promise<AdapterReport> | null = null

/**
 * Load Dawn, find an adapter and install `navigator.gpu` plus the WebGPU globals (once per process).
 * Rejects with a WebgpuUnavailable that says what to install when the package or an adapter is missing.
 */
export function startDawn(): Promise<AdapterReport> {
  started ??= (async () => {
    let mod: { create: (flags: string[]) => GpuLike; globals: object }
    try {
      mod = (await import(/* @vite-ignore */ "webgpu")) as unknown as typeof mod
    } catch (e) {
      throw new WebgpuUnavailable(`the webgpu package (Dawn) is not installed (${e instanceof Error ? e.message.split("\n")[0] : String(e)}); ${INSTALL_DAWN}`)
    }
    installDawnPump() // before Dawn schedules its first tick
    const gpu = mod.create([])
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" })
    if (adapter === null) throw new WebgpuUnavailable(`Dawn found no WebGPU adapter (no Vulkan device); ${INSTALL_VULKAN}`)
    Object.assign(globalThis, mod.globals)
    const nav = (globalThis as { navigator?: object }).navigator
    if (nav === undefined) Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true })
    else Object.defineProperty(nav, "gpu", { value: gpu, configurable: true })
    const i = adapter.info
    return {
      vendor: i.vendor ?? "",
      architecture: i.architecture ?? "",
      device: i.device ?? "",
      description: i.description ?? "",
      software: i.isFallbackAdapter === true || i.architecture === "software" || SOFTWARE.test(`${i.description} ${i.device}`),
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize
    }
  })()
  return started
}
