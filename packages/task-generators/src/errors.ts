import { Data } from "effect"

/**
 * Task parameters failed validation. `field` is the dotted path of the offending parameter
 * (e.g. "rank", "weightPool.size"); `value` is what was given there, when known.
 */
export class InvalidTaskParams extends Data.TaggedError("InvalidTaskParams")<{
  readonly field: string
  readonly reason: string
  readonly value?: unknown
}> {
  override get message() {
    return `task params: ${this.field}: ${this.reason}`
  }
}

/** A sampling or solver request (batch size, solver option) is invalid for the given parameters. */
export class InvalidRequest extends Data.TaggedError("InvalidRequest")<{
  readonly field: string
  readonly reason: string
  readonly value?: unknown
}> {
  override get message() {
    return `request: ${this.field}: ${this.reason}`
  }
}

/** A reference solver could not produce a solution (e.g. a system that is not positive definite). */
export class SolverError extends Data.TaggedError("SolverError")<{
  readonly solver: string
  readonly reason: string
}> {
  override get message() {
    return `solver ${this.solver}: ${this.reason}`
  }
}

/** A corpus file could not be read: `file`, the 1-based `line` (0 when the file as a whole is wrong) and why. */
export class CorpusParseError extends Data.TaggedError("CorpusParseError")<{
  readonly file: string
  readonly line: number
  readonly reason: string
}> {
  override get message() {
    return this.line > 0 ? `${this.file}:${this.line}: ${this.reason}` : `${this.file}: ${this.reason}`
  }
}
