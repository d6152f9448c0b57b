import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Summary, SummaryDecodeError, decodeSummaryJson, encodeSummaryJson } from "../src/index.js"
import { makeReportInput } from "./fixture.js"

const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(Effect.either(e))

describe("Summary schema and summary.json", () => {
  it("round-trips a realistic summary through JSON text", async () => {
    const summary = makeReportInput().summary
    const text = await Effect.runPromise(encodeSummaryJson(summary))
    // finite numbers are written verbatim: plain JSON.stringify of the value parses to the same thing
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(summary)))
    const back = await Effect.runPromise(decodeSummaryJson(text))
    expect(back).toEqual(summary)
  })

  it("keeps NaN and infinities (which JSON.stringify would turn into null)", async () => {
    const s = makeReportInput().summary
    const summary = {
      ...s,
      td: { ...s.td, first: Number.POSITIVE_INFINITY },
      finalNmsePerConcept: [NaN, 1, -Infinity, 0.5],
      patching: null
    }
    const text = await Effect.runPromise(encodeSummaryJson(summary))
    expect(JSON.parse(text).finalNmsePerConcept).toEqual(["NaN", 1, "-Infinity", 0.5])
    const back = await Effect.runPromise(decodeSummaryJson(text))
    expect(back.td.first).toBe(Infinity)
    expect(back.finalNmsePerConcept[0]).toBeNaN()
    expect(back.finalNmsePerConcept[2]).toBe(-Infinity)
    expect(back.patching).toBeNull()
  })

  it("rejects a summary with a missing or mistyped field, naming it", async () => {
    const good = JSON.parse(await Effect.runPromise(encodeSummaryJson(makeReportInput().summary)))
    delete good.td.queryToken.final
    const r1 = await run(decodeSummaryJson(JSON.stringify(good), "runs/x/summary.json"))
    expect(r1._tag).toBe("Left")
    if (r1._tag === "Left") {
      expect(r1.left).toBeInstanceOf(SummaryDecodeError)
      expect(r1.left.file).toBe("runs/x/summary.json")
      // the dotted field and the reason, not the whole schema
      expect(r1.left.reason).toBe("td.queryToken.final: is missing")
    }
    const r2 = await run(decodeSummaryJson('{"config": 3'))
    expect(r2._tag).toBe("Left")
    const bad = { ...JSON.parse(JSON.stringify(makeReportInput().summary)), coupling: { surrogates: 9, perBasis: [{ basis: "x" }] } }
    expect(Schema.decodeUnknownEither(Summary)(bad)._tag).toBe("Left")
  })
})
