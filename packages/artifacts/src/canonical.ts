import { createHash } from "node:crypto"

/**
 * Canonical JSON: object keys sorted, `undefined` members dropped, -0 written as 0, non-finite
 * numbers rejected (they have no JSON form and would make two different parameter sets hash alike).
 * Two values that mean the same thing give the same string, so their hashes agree.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value, "$"))
}

function canonicalize(v: unknown, path: string): unknown {
  if (v === null) return null
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`${path}: non-finite number ${v} cannot be hashed`)
    return Object.is(v, -0) ? 0 : v
  }
  if (typeof v === "string" || typeof v === "boolean") return v
  if (typeof v === "bigint") return v.toString()
  if (Array.isArray(v)) return v.map((x, i) => canonicalize(x === undefined ? null : x, `${path}[${i}]`))
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>, (x, i) => canonicalize(x, `${path}[${i}]`))
  if (typeof v === "object") {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k]
      if (x !== undefined) out[k] = canonicalize(x, `${path}.${k}`)
    }
    return out
  }
  throw new Error(`${path}: ${typeof v} cannot be hashed`)
}

export function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex")
}

/**
 * An artifact's key: hash of the stage name, stage version, canonical parameters and input keys
 * (by input name). Same inputs, same key; anything different, a different key. 32 hex chars (128 bits).
 */
export function artifactKey(stage: { name: string; version: string }, params: unknown, inputs: Record<string, string>): string {
  return sha256Hex(canonicalJson({ stage: stage.name, version: stage.version, params, inputs })).slice(0, 32)
}
