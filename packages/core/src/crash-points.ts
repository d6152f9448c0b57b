/**
 * Named points where a test can kill the process (SIGKILL, as `kill -9` would), to check that what the
 * code writes survives a crash at exactly that moment. `CONCEPTSCOPE_CRASH_AT=<name>` kills at the first
 * time the point is reached, `<name>:<n>` at the n-th. Without the variable a crash point is a string
 * comparison and nothing else.
 */
const counts = new Map<string, number>()

export function crashPoint(name: string): void {
  const spec = process.env.CONCEPTSCOPE_CRASH_AT
  if (!spec) return
  const [at, nth] = spec.split(":")
  if (at !== name) return
  const n = (counts.get(name) ?? 0) + 1
  counts.set(name, n)
  if (n === Number(nth ?? 1)) process.kill(process.pid, "SIGKILL")
}
