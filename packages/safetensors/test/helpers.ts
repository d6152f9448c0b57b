import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect } from "vitest"
import { SafetensorsError } from "../src/index.js"

export const tempDir = (tag: string): string => mkdtempSync(join(tmpdir(), `cs-st-${tag}-`))

/** A safetensors file built byte by byte from the format description (independent of the writer). */
export function handMade(header: object | string, data: Uint8Array | Float32Array = new Uint8Array(0)): Buffer {
  const h = Buffer.from(typeof header === "string" ? header : JSON.stringify(header), "utf8")
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(h.length))
  return Buffer.concat([len, h, Buffer.from(data.buffer, data.byteOffset, data.byteLength)])
}

export function writeHandMade(path: string, header: object | string, data?: Uint8Array | Float32Array): string {
  writeFileSync(path, handMade(header, data))
  return path
}

/**
 * Runs `f`, expects a SafetensorsError for `file` (and `tensor`, or none when null) whose reason matches
 * `pattern` and whose message is one line "<file> [<tensor>]: <reason>".
 */
export async function expectSafetensorsError(f: () => unknown, file: string, tensor: string | null, pattern: RegExp): Promise<SafetensorsError> {
  let caught: unknown = null
  try {
    await f()
  } catch (e) {
    caught = e
  }
  expect(caught).toBeInstanceOf(SafetensorsError)
  const e = caught as SafetensorsError
  expect(e._tag).toBe("SafetensorsError")
  expect(e.file).toBe(file)
  expect(e.tensor).toBe(tensor ?? undefined)
  expect(e.reason).toMatch(pattern)
  expect(e.message.split("\n")).toHaveLength(1)
  expect(e.message.startsWith(tensor === null ? `${file}: ` : `${file} [${tensor}]: `)).toBe(true)
  return e
}
