import { Schema } from "effect"

const NonFiniteLiteral = Schema.Literal("NaN", "Infinity", "-Infinity")

/**
 * A number that survives JSON: JSON has no NaN or Infinity (JSON.stringify writes null, which would not
 * round-trip), so finite numbers stay themselves and NaN / +-Infinity are encoded as the strings "NaN",
 * "Infinity", "-Infinity" and decoded back.
 */
export const JsonSafeNumber = Schema.transform(Schema.Union(Schema.Number, NonFiniteLiteral), Schema.Number, {
  strict: true,
  decode: (v) => (typeof v === "number" ? v : Number(v)),
  encode: (n) => (Number.isFinite(n) ? n : (String(n) as typeof NonFiniteLiteral.Type))
})
