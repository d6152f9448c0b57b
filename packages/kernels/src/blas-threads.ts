import * as os from "node:os"
import type { KernelsAddon } from "./addon.js"

/**
 * How many OpenBLAS threads a product gets. Small products run on one thread: OpenBLAS's workers
 * cost more to wake than they save, and they spin, fighting any other busy process for the cores
 * (measured: a quick-model training step 64 ms on 1 thread, 91 ms on 2, and 1.3 s on 2 while other
 * jobs held both cores). Large products (>= LARGE multiply-adds) use up to `max` threads (measured:
 * a 100M-parameter Llama forward 2.1 s on 1 thread, 1.2 s on 2).
 * `max`: CONCEPTSCOPE_BLAS_THREADS, else the number of CPUs.
 */
export const LARGE = 2 ** 25

export class BlasThreads {
  private current = -1
  readonly max: number

  constructor(private readonly addon: KernelsAddon) {
    const env = Number(process.env.CONCEPTSCOPE_BLAS_THREADS ?? "")
    this.max = Number.isInteger(env) && env > 0 ? env : Math.max(1, os.cpus().length)
    this.set(1)
  }

  /** Set the thread count for a product of `macs` multiply-adds (a no-op when unchanged). */
  forWork(macs: number): void {
    this.set(macs >= LARGE ? this.max : 1)
  }

  private set(n: number): void {
    if (n === this.current) return
    this.addon.setThreads(n)
    this.current = n
  }
}
