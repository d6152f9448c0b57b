import { SafetensorsReader } from "@conceptscope/safetensors"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { CLI, ROOT, tmp } from "./helpers.js"

const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, CONCEPTSCOPE_QUIET: "1" } })
const fixture = path.join(ROOT, "packages/model-runners/test/fixtures/hf/gemma2-softcap-window4")

/** max |a - r| / max(1, max |r|) */
function relErr(a: Float32Array, r: Float32Array): number {
  let scale = 1
  for (const v of r) scale = Math.max(scale, Math.abs(v))
  let worst = 0
  for (let i = 0; i < r.length; i++) worst = Math.max(worst, Math.abs(a[i] - r[i]) / scale)
  return worst
}

describe("conceptscope dump", () => {
  for (const streamed of [false, true]) {
    it(`writes logits, hook_embed and every resid_post matching the PyTorch reference${streamed ? " (layer-streamed)" : ""}`, () => {
      const out = path.join(tmp("cs-dump-"), "dump.safetensors")
      const r = cli(["dump", "--model", fixture, "--ids", path.join(fixture, "ids.json"), "--out", out, ...(streamed ? ["--streamed"] : [])])
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout).toContain(streamed ? "streamed" : "memory")
      const got = SafetensorsReader.open(out)
      const ref = SafetensorsReader.open(path.join(fixture, "reference.safetensors"))
      expect([...got.tensors.keys()].sort()).toEqual([...ref.tensors.keys()].sort())
      for (const name of ref.tensors.keys()) {
        expect(got.tensors.get(name)?.shape, name).toEqual(ref.tensors.get(name)?.shape)
        expect(relErr(got.read(name), ref.read(name)), name).toBeLessThan(1e-4)
      }
    })
  }

  it("--text tokenizes with the checkpoint's tokenizer; --hooks picks hooks", () => {
    const out = path.join(tmp("cs-dump-"), "dump.safetensors")
    const r = cli(["dump", "--model", fixture, "--text", "Hello world", "--out", out, "--hooks", "blocks.1.hook_mlp_out,ln_final"])
    expect(r.status, r.stderr).toBe(0)
    const got = SafetensorsReader.open(out)
    expect([...got.tensors.keys()].sort()).toEqual(["blocks.1.hook_mlp_out", "ln_final", "logits"])
    expect(got.tensors.get("logits")?.shape[0]).toBe(1)
  })

  it("a bad ids file gives one line naming the file, the entry and the reason, exit 1, no output", () => {
    const dir = tmp("cs-dump-")
    const ids = path.join(dir, "ids.json")
    fs.writeFileSync(ids, JSON.stringify([[1, 2, 3], [4, "five", 6]]))
    const out = path.join(dir, "dump.safetensors")
    const r = cli(["dump", "--model", fixture, "--ids", ids, "--out", out])
    expect(r.status).toBe(1)
    const lines = r.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^error: .*ids\.json: \[1\]\[1\]: "five" is not a token id/)
    expect(fs.existsSync(out)).toBe(false)
  })
})
