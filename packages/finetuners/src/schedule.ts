/**
 * Checkpoint steps: dense early, sparse late, always including step 0 and the last step.
 *   s_i = round(totalSteps * (i / (count - 1))^2),  i = 0 .. count-1
 * (quadratic spacing: the gap grows linearly, so the first tenth of training gets about a third of the
 * checkpoints), then made strictly increasing: collisions at the start are pushed up one step at a
 * time and, if needed, pulled down from the end, so exactly min(count, totalSteps + 1) distinct steps
 * are returned. count >= totalSteps + 1 gives every step; count 1 still gives [0, totalSteps].
 */
export function checkpointSchedule(totalSteps: number, count: number): number[] {
  if (!Number.isInteger(totalSteps) || totalSteps < 0) throw new RangeError(`totalSteps ${totalSteps} must be an integer >= 0`)
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count ${count} must be an integer >= 1`)
  if (totalSteps === 0 || count === 1) return totalSteps === 0 ? [0] : [0, totalSteps]
  const n = Math.min(count, totalSteps + 1)
  if (n === totalSteps + 1) return Array.from({ length: n }, (_, i) => i)
  const s = Array.from({ length: n }, (_, i) => Math.round(totalSteps * (i / (n - 1)) ** 2))
  for (let i = 1; i < n; i++) s[i] = Math.max(s[i], s[i - 1] + 1)
  s[n - 1] = totalSteps
  for (let i = n - 2; i >= 0; i--) s[i] = Math.min(s[i], s[i + 1] - 1)
  return s
}
