import { Data } from "effect"

/** No usable tensor backend, or an unknown backend name. */
export class BackendError extends Data.TaggedError("BackendError")<{
  readonly backend: string
  readonly reason: string
}> {
  override get message() {
    return `backend ${this.backend}: ${this.reason}`
  }
}

/** A model configuration that does not decode or is inconsistent (field names the culprit). */
export class ModelConfigError extends Data.TaggedError("ModelConfigError")<{
  readonly field: string
  readonly reason: string
}> {
  override get message() {
    return `model config ${this.field}: ${this.reason}`
  }
}

/**
 * Bad forward inputs, hook names, capture requests or interventions, or a forward pass whose output is
 * not finite (field "": the message then reads "forward: <reason>").
 */
export class ForwardError extends Data.TaggedError("ForwardError")<{
  readonly field: string
  readonly reason: string
}> {
  override get message() {
    return `forward${this.field === "" ? "" : ` ${this.field}`}: ${this.reason}`
  }
}

/** A checkpoint whose tensors do not match the model (missing, extra, wrong shape). */
export class CheckpointError extends Data.TaggedError("CheckpointError")<{
  readonly file: string
  readonly tensor?: string
  readonly reason: string
}> {
  override get message() {
    return `${this.file}${this.tensor !== undefined ? ` [${this.tensor}]` : ""}: ${this.reason}`
  }
}
