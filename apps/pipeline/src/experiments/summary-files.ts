import * as fs from "node:fs"
import * as path from "node:path"

/** Write a sweep-level summary file through a temporary name, so a reader never sees half a file. */
export const writeAtomic = (file: string, data: string | Uint8Array) => {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(`${file}.tmp-${process.pid}`, data)
  fs.renameSync(`${file}.tmp-${process.pid}`, file)
}

/** JSON with non-finite numbers as the strings "NaN", "Infinity", "-Infinity" (as JsonSafeNumber writes them). */
export const jsonWithNonFinite = (value: unknown, indent = 1) =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v), indent)
