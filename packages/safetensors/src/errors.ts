import { Data } from "effect"

/**
 * A safetensors file that cannot be read or written. The message is one line:
 *   "<file> [<tensor>]: <reason>"   or   "<file>: <reason>" when no single tensor is at fault.
 */
export class SafetensorsError extends Data.TaggedError("SafetensorsError")<{
  readonly file: string
  readonly tensor?: string
  readonly reason: string
}> {
  override get message() {
    return `${this.file}${this.tensor !== undefined ? ` [${this.tensor}]` : ""}: ${this.reason.split("\n")[0]}`
  }
}
