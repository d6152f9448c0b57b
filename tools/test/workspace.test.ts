import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const read = (f: string) => JSON.parse(fs.readFileSync(path.join(ROOT, f), "utf8"))
const packages = fs.readdirSync(path.join(ROOT, "packages")).filter((d) => fs.existsSync(path.join(ROOT, "packages", d, "package.json"))).sort()

/**
 * The facts the build keeps in more than one file agree: each package's tsconfig.build.json references
 * exactly its workspace dependencies (package.json), the root build lists every package, and every
 * package exports its sources to the workspace and its built JavaScript and declarations to everyone else.
 */
describe("workspace", () => {
  it("tsc -b project references follow package.json dependencies", () => {
    const byName = new Map(packages.map((d) => [read(`packages/${d}/package.json`).name as string, d]))
    for (const d of packages) {
      const deps = Object.keys(read(`packages/${d}/package.json`).dependencies ?? {}).flatMap((n) => (byName.has(n) ? [byName.get(n)!] : []))
      const refs = (read(`packages/${d}/tsconfig.build.json`).references ?? []).map((r: { path: string }) => path.basename(path.dirname(r.path)))
      expect(refs.sort(), d).toEqual(deps.sort())
    }
    const root = read("tsconfig.build.json").references.map((r: { path: string }) => r.path.split("/")[1])
    expect(root.sort()).toEqual(packages)
  })

  it("every package exports sources to the workspace and dist/ (JavaScript + declarations) to the world, and ships dist/", () => {
    for (const d of packages) {
      const pkg = read(`packages/${d}/package.json`)
      expect(pkg.exports["."], d).toEqual({ "@conceptscope/source": "./src/index.ts", types: "./dist/index.d.ts", default: "./dist/index.js" })
      expect(pkg.files, d).toContain("dist")
      expect(pkg.nx?.tags?.length, d).toBe(1)
    }
  })
})
