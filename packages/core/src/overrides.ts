import { Data } from "effect"

/** A `key.path=value` override that cannot be applied. */
export class OverrideError extends Data.TaggedError("OverrideError")<{ readonly override: string; readonly field: string; readonly reason: string }> {
  override get message() {
    return `--set ${this.override}: ${this.reason}`
  }
}

const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"])

/**
 * Apply `key.path=value` overrides (nanoGPT style) to a copy of a parsed JSON config: the value is
 * parsed as JSON when it can be (numbers, booleans, null, arrays, objects) and taken as a string
 * otherwise; missing intermediate objects are created. Keys that would reach an object's prototype
 * are refused.
 */
export function applyOverrides<T>(config: T, overrides: readonly string[]): T {
  const out = structuredClone(config) as Record<string, unknown>
  for (const o of overrides) {
    const eq = o.indexOf("=")
    if (eq <= 0) throw new OverrideError({ override: o, field: o, reason: "expected key.path=value" })
    const field = o.slice(0, eq)
    const keys = field.split(".")
    if (keys.some((k) => k === "" || FORBIDDEN.has(k))) throw new OverrideError({ override: o, field, reason: "not a config field" })
    const text = o.slice(eq + 1)
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      value = text
    }
    let node = out
    for (const k of keys.slice(0, -1)) {
      const child = node[k]
      if (child === null || typeof child !== "object" || Array.isArray(child)) node[k] = {}
      node = node[k] as Record<string, unknown>
    }
    node[keys[keys.length - 1]] = value
  }
  return out as T
}
