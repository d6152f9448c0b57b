import { Data } from "effect"

/**
 * An input to a probe or statistic is malformed: wrong length, a label out of range, a non-finite
 * value, an option outside its domain. `fn` is the public function, `field` the argument or option.
 */
export class ProbeInputError extends Data.TaggedError("ProbeInputError")<{
  readonly fn: string
  readonly field: string
  readonly reason: string
}> {
  override get message() {
    return `${this.fn}: ${this.field}: ${this.reason}`
  }
}

/** A computation failed for a reason other than its inputs (e.g. the tensor backend threw). */
export class ProbeComputeError extends Data.TaggedError("ProbeComputeError")<{
  readonly fn: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message() {
    return `${this.fn}: ${this.reason}`
  }
}
