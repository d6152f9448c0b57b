import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { noHardwareGpu } from "../src/index.js"

/** auto's pre-check: Dawn is loaded only where a GPU driver's device node exists (Linux). */
describe("noHardwareGpu", () => {
  const dev = (files: string[]) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "cs-dev-"))
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(d, f)), { recursive: true })
      fs.writeFileSync(path.join(d, f), "")
    }
    return d
  }
  it("names the missing device nodes on a CPU-only Linux machine", () => {
    expect(noHardwareGpu(dev([]), "linux")).toMatch(/^no GPU device node .*auto never picks/)
    expect(noHardwareGpu(dev(["dri/card0"]), "linux")).toMatch(/^no GPU device node/) // a display node alone is not a render node
  })
  it("lets Dawn probe when a render node, an NVIDIA node or WSL's dxg exists", () => {
    expect(noHardwareGpu(dev(["dri/renderD128"]), "linux")).toBeNull()
    expect(noHardwareGpu(dev(["nvidia0"]), "linux")).toBeNull()
    expect(noHardwareGpu(dev(["dxg"]), "linux")).toBeNull()
  })
  it("probes on other platforms", () => {
    expect(noHardwareGpu(dev([]), "darwin")).toBeNull()
    expect(noHardwareGpu(dev([]), "win32")).toBeNull()
  })
})
