import { Schema } from "effect"

/**
 * Where in training a checkpoint lies, as the report names it. The early checkpoint is the first after
 * step 0, the middle one the median of the saved list, the final one the last.
 */
export const Phase = Schema.Literal("early", "middle", "final")
export type Phase = typeof Phase.Type

export const PhaseCheckpoints = Schema.Array(Schema.Struct({ step: Schema.Int, phase: Phase }))

/** The early, middle and final checkpoints of a run's saved steps (by index in the list). */
export function phaseSteps(steps: readonly number[]): { early: number; middle: number; final: number } {
  const n = steps.length
  return { early: steps[Math.min(1, n - 1)], middle: steps[Math.floor((n - 1) / 2)], final: steps[n - 1] }
}
