import { Worker } from "node:worker_threads"
import type { TensorLocation } from "./checkpoint.js"

/**
 * Reads the next stage's weights on a reader thread while the current stage computes (streamed mode).
 *
 * One request is in flight at a time: `request(key, items)` hands the reader one of two
 * SharedArrayBuffers (alternating, grown to the largest stage seen, so their pages are touched once),
 * which it fills from the safetensors byte ranges as float32, decoding F16 / BF16 there; `take(key)`
 * blocks (Atomics.wait) until that request is done and returns one float32 view per item, or null when
 * the key is not the one in flight or the reader failed. The caller then reads that stage synchronously
 * as before, so a failure surfaces as the synchronous reader's one-line error. The views stay valid
 * until the second request after the take (the caller copies them out before it asks again).
 *
 * Memory: two buffers of the largest stage's float32 weights, on top of the tensors of the stage computing.
 */
export type TensorRange = Pick<TensorLocation, "file" | "begin" | "end" | "dtype" | "numel">

/** The reader thread (CommonJS, self-contained: it runs from this string under eval). */
const READER_SOURCE = `
const { parentPort } = require("node:worker_threads")
const fs = require("node:fs")
const fds = new Map()
const fdOf = (file) => { let fd = fds.get(file); if (fd === undefined) { fd = fs.openSync(file, "r"); fds.set(file, fd) } return fd }
const f16 = new Float32Array(65536)
for (let h = 0; h < 65536; h++) {
  const s = h & 0x8000 ? -1 : 1, e = (h >>> 10) & 0x1f, m = h & 0x3ff
  f16[h] = e === 0 ? s * m * 2 ** -24 : e === 0x1f ? (m === 0 ? s * Infinity : NaN) : s * (1 + m / 1024) * 2 ** (e - 15)
}
const readFully = (fd, target, position) => {
  let done = 0
  while (done < target.length) {
    const r = fs.readSync(fd, target, done, target.length - done, position + done)
    if (r === 0) throw new Error("short read")
    done += r
  }
}
const CHUNK = 1 << 20
parentPort.on("message", (msg) => {
  if (msg.type === "close") { for (const fd of fds.values()) fs.closeSync(fd); fds.clear(); parentPort.close(); return }
  const flag = new Int32Array(msg.flag)
  try {
    let at = 0 // floats into msg.buffer
    let scratch = null
    for (const it of msg.items) {
      const fd = fdOf(it.file)
      if (it.dtype === "F32") readFully(fd, new Uint8Array(msg.buffer, at * 4, it.numel * 4), it.begin)
      else {
        const out = new Float32Array(msg.buffer, at * 4, it.numel)
        scratch = scratch || new Uint16Array(CHUNK)
        const bytes = new Uint8Array(scratch.buffer)
        for (let s = 0; s < it.numel; s += CHUNK) {
          const n = Math.min(CHUNK, it.numel - s)
          readFully(fd, bytes.subarray(0, 2 * n), it.begin + 2 * s)
          if (it.dtype === "BF16") { const u = new Uint32Array(msg.buffer, (at + s) * 4, n); for (let i = 0; i < n; i++) u[i] = scratch[i] << 16 }
          else for (let i = 0; i < n; i++) out[s + i] = f16[scratch[i]]
        }
      }
      at += it.numel
    }
    Atomics.store(flag, 0, 1)
  } catch (e) {
    Atomics.store(flag, 0, 2)
  }
  Atomics.notify(flag, 0)
})
`

interface InFlight {
  readonly key: string
  readonly items: readonly TensorRange[]
  readonly buffer: SharedArrayBuffer
  readonly flag: Int32Array
}

export class WeightPrefetcher {
  private readonly worker: Worker
  private inFlight: InFlight | null = null
  private readonly slots: (SharedArrayBuffer | null)[] = [null, null]
  private slot = 0
  /** takes answered from the reader / not (wrong key in flight, or a failed read) */
  readonly stats = { hits: 0, misses: 0 }

  constructor() {
    this.worker = new Worker(READER_SOURCE, { eval: true })
    this.worker.unref() // never keeps the process alive
  }

  /** Start reading `items` for `key`; waits for (and drops) any request still in flight. */
  request(key: string, items: readonly TensorRange[]): void {
    this.settle()
    const bytes = items.reduce((a, it) => a + it.numel, 0) * 4
    this.slot = 1 - this.slot
    let buffer = this.slots[this.slot]
    if (!buffer || buffer.byteLength < bytes) buffer = this.slots[this.slot] = new SharedArrayBuffer(bytes)
    const flag = new Int32Array(new SharedArrayBuffer(4))
    this.inFlight = { key, items, buffer, flag }
    this.worker.postMessage({ type: "read", items, buffer, flag: flag.buffer })
  }

  /** The float32 values of `key`'s items (one view per item), or null (not in flight, or failed). */
  take(key: string): Float32Array[] | null {
    const f = this.inFlight
    if (!f || f.key !== key || (this.settle(), Atomics.load(f.flag, 0) !== 1)) {
      this.stats.misses++
      return null
    }
    this.stats.hits++
    const views: Float32Array[] = []
    let at = 0
    for (const it of f.items) {
      views.push(new Float32Array(f.buffer, at * 4, it.numel))
      at += it.numel
    }
    return views
  }

  /** Wait for the request in flight, if any, and forget it. */
  private settle(): void {
    const f = this.inFlight
    if (!f) return
    Atomics.wait(f.flag, 0, 0)
    this.inFlight = null
  }

  close(): void {
    this.settle()
    this.slots.fill(null)
    this.worker.postMessage({ type: "close" })
  }
}
