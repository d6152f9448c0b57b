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
      const clean = (m: string) => m.replace(/\s+/g, " ").trim()
      // a value that matches none of a union's members gives one issue per member at the same path:
      // `Expected "a", actual "x"` and `Expected "b", actual "x"` read as `Expected "a" | "b", actual "x"`
      const same = issues.filter((i) => i.path.map(String).join(".") === (first?.path.map(String).join(".") ?? "")).map((i) => /^Expected (.+), actual (.+)$/s.exec(clean(i.message)))
      const reason = !first
        ? "invalid"
        : same.length > 1 && same.every((m) => m && m[2] === same[0]![2])
          ? `Expected ${[...new Set(same.map((m) => m![1]).filter((x) => x !== "undefined"))].join(" | ")}, actual ${same[0]![2]}`
          : clean(first.message)
      return new ParamsError({ file, field, reason })
    })
  )
}
