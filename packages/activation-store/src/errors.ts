import { Data } from "effect"

/** Misuse of the store or an inconsistent store directory. One-line message `<file> [<field>]: <reason>`. */
export class ActivationStoreError extends Data.TaggedError("ActivationStoreError")<{
  readonly file: string
  readonly field?: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.file}${this.field !== undefined ? ` [${this.field}]` : ""}: ${this.reason}`
  }
}
