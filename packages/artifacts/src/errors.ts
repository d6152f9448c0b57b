import { Data } from "effect"

/** Parameters of a stage or a config file failed validation. `field` is a dotted path. */
export class ParamsError extends Data.TaggedError("ParamsError")<{
  readonly file: string
  readonly field: string
  readonly reason: string
}> {
  override get message() {
    return `${this.file}: ${this.field}: ${this.reason}`
  }
}

/** The artifact store could not read or write an artifact. */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `${this.path}: ${this.reason}`
  }
}

/** A stage's computation failed. */
export class StageError extends Data.TaggedError("StageError")<{
  readonly stage: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message() {
    return `stage ${this.stage}: ${this.reason}`
  }
}
