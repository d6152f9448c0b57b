import { Effect, ParseResult, Schema } from "effect"
import { ParamsError } from "./errors.js"

/**
 * Decode unknown input (a parsed config file, stage parameters) with an Effect Schema. The first
 * problem becomes a ParamsError naming the file, the dotted field path and the reason, e.g.
 * `configs/quick.json: train.steps: Expected a positive integer, actual -3`.
 */
export function decodeParams<A, I>(schema: Schema.Schema<A, I>, raw: unknown, file: string): Effect.Effect<A, ParamsError> {
  return Schema.decodeUnknown(schema, { onExcessProperty: "error", errors: "all" })(raw).pipe(
    Effect.mapError((e) => {
      const issues = ParseResult.ArrayFormatter.formatErrorSync(e)
      const first = issues[0]
      const field = first && first.path.length > 0 ? first.path.map(String).join(".") : "(root)"
      const reason = first ? first.message.replace(/\s+/g, " ").trim() : "invalid"
      return new ParamsError({ file, field, reason })
    })
  )
}
