import * as tf from "@tensorflow/tfjs"

/**
 * Synchronous reads (`dataSync`, `arraySync`) on tfjs-backend-webgpu under Node.
 *
 * In a browser tfjs reads synchronously through an OffscreenCanvas, which Node lacks, so its readSync
 * throws. A read needs the staging buffer mapped, and dawn.node only advances GPU work (mapping among
 * it) in a callback it schedules with the global `setImmediate` (its AsyncRunner: `device.Tick()`, then
 * it schedules itself again while work is pending). The pump below wraps `setImmediate` once: a native
 * callback (Dawn's; JavaScript callbacks pass straight through) is remembered until it runs, and a
 * synchronous read runs the pending ones itself until its buffer is mapped (the real immediate then
 * finds its entry done and does nothing). No other callback runs inside the read, so tf.tidy scopes and
 * Effect fibers see no re-entrance.
 *
 * The asynchronous `data()` stays the fast path: it keeps the CPU free while the GPU works.
 */

interface Pending {
  readonly fn: (...args: unknown[]) => void
  readonly args: unknown[]
  done: boolean
  /** A real immediate will run it (false for ticks scheduled while a read pumps). */
  scheduled: boolean
}
const pending = new Set<Pending>()
let installed = false
let pumping = false
let realSetImmediate: typeof setImmediate

const isNative = (fn: unknown): boolean => typeof fn === "function" && Function.prototype.toString.call(fn).includes("[native code]")

/** Wrap the global setImmediate (once, before Dawn schedules anything). */
export function installDawnPump(): void {
  if (installed) return
  installed = true
  const real = globalThis.setImmediate
  realSetImmediate = real
  const wrapped = ((fn: (...a: unknown[]) => void, ...args: unknown[]) => {
    if (!isNative(fn)) return real(fn, ...args)
    // while a read pumps, Dawn reschedules its tick after every run: keep it in the set only, or the
    // event loop would collect one dead immediate per tick of a long wait
    const entry: Pending = { fn, args, done: false, scheduled: !pumping }
    pending.add(entry)
    return pumping ? undefined : real(() => runEntry(entry))
  }) as unknown as typeof setImmediate
  Object.assign(wrapped, real) // keeps util.promisify.custom and friends
  globalThis.setImmediate = wrapped
}

function runEntry(e: Pending): void {
  if (e.done) return
  e.done = true
  pending.delete(e)
  e.fn(...e.args)
}

/** Run Dawn's pending ticks now; false when none was pending. */
function pumpOnce(): boolean {
  if (pending.size === 0) return false
  for (const e of [...pending]) runEntry(e)
  return true
}

/** Hand the ticks Dawn scheduled during a pumped read back to the event loop. */
function endPumping(): void {
  pumping = false
  for (const e of pending) {
    if (e.scheduled) continue
    e.scheduled = true
    realSetImmediate(() => runEntry(e))
  }
}

// between ticks the read sleeps (Atomics.wait, no event loop), 20 us doubling to 1 ms: the GPU, or
// lavapipe's threads on a CPU, get the core instead of a spinning loop
const sleeper = new Int32Array(new SharedArrayBuffer(4))
const sleepMs = (ms: number) => Atomics.wait(sleeper, 0, 0, ms)

interface TensorData {
  values: unknown
  dtype: tf.DataType
  resource: { size: number }
}
interface BackendInternals {
  tensorMap: { get(id: object): TensorData }
  bufferManager: { acquireBuffer(size: number, usage: number): StagingBuffer; releaseBuffer(b: StagingBuffer): void }
  commandEncoder: { copyBufferToBuffer(a: unknown, ao: number, b: unknown, bo: number, size: number): void }
  ensureCommandEncoderReady(): void
  endComputePassEncoder(): void
  submitQueue(): void
  convertAndCacheOnCPU(id: object, vals: unknown): unknown
}
interface StagingBuffer {
  mapAsync(mode: number): Promise<void>
  readonly mapState: "unmapped" | "pending" | "mapped"
  getMappedRange(): ArrayBuffer
  unmap(): void
}

const STALL_LIMIT = 100_000

/** Replace WebGPUBackend's readSync with a pumped buffer map where OffscreenCanvas is missing. */
export function patchReadSync(proto: { readSync: (dataId: object) => unknown }): void {
  const original = proto.readSync
  if ((original as { pumped?: boolean }).pumped) return
  proto.readSync = function (this: BackendInternals, dataId: object) {
    if (typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== "undefined") return original.call(this, dataId)
    const d = this.tensorMap.get(dataId)
    if (d.values != null || d.dtype === "string" || d.dtype === "complex64") return original.call(this, dataId)
    const g = globalThis as unknown as { GPUBufferUsage: { COPY_DST: number; MAP_READ: number }; GPUMapMode: { READ: number } }
    const size = d.resource.size
    const staging = this.bufferManager.acquireBuffer(size, g.GPUBufferUsage.COPY_DST | g.GPUBufferUsage.MAP_READ)
    this.ensureCommandEncoderReady()
    this.endComputePassEncoder()
    this.commandEncoder.copyBufferToBuffer(d.resource, 0, staging, 0, size)
    this.submitQueue()
    let failure: unknown = null
    staging.mapAsync(g.GPUMapMode.READ).catch((e) => {
      failure = e
    })
    pumping = true
    try {
      let idle = 0
      let nap = 0.02
      while (staging.mapState !== "mapped") {
        if (failure !== null || staging.mapState === "unmapped") throw new Error(`webgpu readSync: mapping the staging buffer failed (${String(failure)})`)
        if (!pumpOnce() && ++idle > STALL_LIMIT) throw new Error("webgpu readSync: Dawn scheduled no progress for the buffer map; read with the asynchronous data() instead")
        if ((staging.mapState as string) === "mapped") break
        sleepMs(nap)
        nap = Math.min(1, nap * 2)
      }
    } finally {
      endPumping()
    }
    const bytes = staging.getMappedRange().slice(0)
    staging.unmap()
    this.bufferManager.releaseBuffer(staging)
    const vals = tf.util.convertBackendValuesAndArrayBuffer(bytes, d.dtype)
    this.convertAndCacheOnCPU(dataId, vals)
    return vals
  }
  ;(proto.readSync as { pumped?: boolean }).pumped = true
}
