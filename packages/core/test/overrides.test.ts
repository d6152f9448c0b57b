import { describe, expect, it } from "vitest"
import { applyOverrides, OverrideError } from "../src/index.js"

describe("applyOverrides", () => {
  it("sets dotted paths on a copy, parsing JSON values and keeping other text as strings", () => {
    const base = { a: { b: 1 }, c: [1, 2] }
    const out = applyOverrides(base, ["a.b=2", "a.d.e=true", "c=[3]", "name=quick", "x={\"y\":null}"])
    expect(out).toEqual({ a: { b: 2, d: { e: true } }, c: [3], name: "quick", x: { y: null } })
    expect(base).toEqual({ a: { b: 1 }, c: [1, 2] })
  })

  it("refuses malformed overrides and keys that reach a prototype, leaving Object.prototype alone", () => {
    for (const bad of ["novalue", "=1", "a..b=1", "__proto__.polluted=1", "a.constructor.prototype.polluted=1"]) {
      expect(() => applyOverrides({ a: {} }, [bad]), bad).toThrow(OverrideError)
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(() => applyOverrides({}, ["__proto__.x=1"])).toThrow(/--set __proto__\.x=1: not a config field/)
  })
})
