/**
 * Progress lines for long work: step counter, rate and ETA, printed at most every `everyMs`
 * to stderr (so stdout stays machine-readable). Silent when CONCEPTSCOPE_QUIET=1.
 */
export interface Progress {
  tick(n?: number, extra?: string): void
  done(extra?: string): void
}

export function progress(label: string, total: number, everyMs = 2000): Progress {
  const quiet = process.env.CONCEPTSCOPE_QUIET === "1"
  const start = Date.now()
  let last = 0
  let count = 0
  const line = (extra?: string) => {
    const elapsed = (Date.now() - start) / 1000
    const rate = count / Math.max(elapsed, 1e-9)
    const eta = rate > 0 ? (total - count) / rate : Infinity
    const pct = total > 0 ? ((100 * count) / total).toFixed(1) : "100"
    return `[${label}] ${count}/${total} (${pct}%) ${elapsed.toFixed(1)}s elapsed, ETA ${Number.isFinite(eta) ? eta.toFixed(0) + "s" : "?"}${extra ? " " + extra : ""}`
  }
  return {
    tick(n = 1, extra) {
      count += n
      const now = Date.now()
      if (!quiet && now - last >= everyMs) {
        last = now
        process.stderr.write(line(extra) + "\n")
      }
    },
    done(extra) {
      if (!quiet) process.stderr.write(line(extra) + " done\n")
    }
  }
}

/** One line about long work (`[label] text`) on stderr, silent when CONCEPTSCOPE_QUIET=1. */
export function note(label: string, text: string): void {
  if (process.env.CONCEPTSCOPE_QUIET !== "1") process.stderr.write(`[${label}] ${text}\n`)
}
