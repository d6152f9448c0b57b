import { Data } from "effect"

/** Bad training options (field names the culprit). */
export class TrainingConfigError extends Data.TaggedError("TrainingConfigError")<{
  readonly field: string
  readonly reason: string
}> {
  override get message() {
    return `training option ${this.field}: ${this.reason}`
  }
}

/** Optimizer state or resume files that do not fit the model or each other. */
export class ResumeError extends Data.TaggedError("ResumeError")<{
  readonly file: string
  readonly tensor?: string
  readonly reason: string
}> {
  override get message() {
    return `${this.file}${this.tensor !== undefined ? ` [${this.tensor}]` : ""}: ${this.reason}`
  }
}

/** Loss became NaN or infinite. */
export class DivergedError extends Data.TaggedError("DivergedError")<{
  readonly step: number
  readonly loss: number
}> {
  override get message() {
    return `training diverged at step ${this.step}: loss ${this.loss}`
  }
}
