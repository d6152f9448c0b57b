import { describe, expect, it } from "vitest"
import { parseHook, Rng } from "../src/index.js"

describe("Rng", () => {
  it("is deterministic per seed and differs across seeds", () => {
    const a = new Rng(7).normals(5)
    const b = new Rng(7).normals(5)
    const c = new Rng(8).normals(5)
    expect(Array.from(a)).toEqual(Array.from(b))
    expect(Array.from(a)).not.toEqual(Array.from(c))
  })
  it("forks independent streams by label", () => {
    const r = new Rng(1)
    expect(r.fork("x").uniform()).toBe(new Rng(1).fork("x").uniform())
    expect(r.fork("x").uniform()).not.toBe(r.fork("y").uniform())
  })
  it("has standard normal moments", () => {
    const xs = new Rng(3).normals(200_000)
    let m = 0, v = 0
    for (const x of xs) m += x
    m /= xs.length
    for (const x of xs) v += (x - m) ** 2
    v /= xs.length
    expect(Math.abs(m)).toBeLessThan(0.01)
    expect(Math.abs(v - 1)).toBeLessThan(0.02)
  })
  it("uniform ints cover the range evenly", () => {
    const r = new Rng(5)
    const counts = [0, 0, 0, 0]
    for (let i = 0; i < 40_000; i++) counts[r.int(4)]++
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400)
  })
})

describe("hooks", () => {
  it("parses TransformerLens names", () => {
    expect(parseHook("blocks.3.hook_resid_post")).toEqual({ name: "blocks.3.hook_resid_post", layer: 3, point: "hook_resid_post" })
    expect(parseHook("hook_embed")?.layer).toBeNull()
    expect(parseHook("blocks.x.hook_resid_post")).toBeNull()
  })
})
