import * as tf from "@tensorflow/tfjs"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { SafetensorsReader } from "@conceptscope/safetensors"
import { CausalLM, initBackend, LoraAdapter, type LoraTarget } from "../src/index.js"

/**
 * PEFT LoRA adapters against an independent implementation (fixtures/peft, written with PEFT's layout by
 * tools/torch/peft_fixture.py; reference outputs from tools/torch/hf_reference.py --adapter in float64):
 * the runner applies them unmerged and merged, in memory and streamed mode, to the reference's logits and
 * residual stream, and an adapter it saves has PEFT's keys, shapes and config fields.
 */
const here = path.dirname(fileURLToPath(import.meta.url))
const fixtures = path.join(here, "fixtures/peft")
const cases = fs.readdirSync(fixtures).filter((d) => fs.existsSync(path.join(fixtures, d, "adapter_config.json")))
const TOL = 1e-4

const relErr = (a: ArrayLike<number>, r: ArrayLike<number>) => {
  let scale = 1
  for (let i = 0; i < r.length; i++) scale = Math.max(scale, Math.abs(r[i]))
  let worst = 0
  for (let i = 0; i < r.length; i++) worst = Math.max(worst, Math.abs(a[i] - r[i]) / scale)
  return worst
}

beforeAll(async () => {
  process.env.CONCEPTSCOPE_QUIET = "1"
  await initBackend()
})

describe.each(cases)("PEFT adapter %s", (name) => {
  const dir = path.join(fixtures, name)
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, "adapter_config.json"), "utf8"))
  const base = path.resolve(here, "../../..", cfg.base_model_name_or_path.replace(/^packages\//, "packages/"))
  const ids = JSON.parse(fs.readFileSync(path.join(dir, "ids.json"), "utf8")) as number[][]
  const ref = SafetensorsReader.open(path.join(dir, "reference.safetensors"))
  const hooks = [...ref.tensors.keys()].filter((n) => n !== "logits")

  it.each([
    ["memory", false],
    ["memory", true],
    ["streamed", false],
    ["streamed", true]
  ] as const)("matches the PyTorch reference within 1e-4 (%s, merged %s)", (mode, merge) => {
    const model = CausalLM.load(base, { mode, adapter: { dir, merge } })
    const { logits, captured } = model.forward({ ids }, { capture: { hooks, positions: "all" } })
    expect(relErr(logits!.dataSync(), ref.read("logits"))).toBeLessThan(TOL)
    for (const h of hooks) expect(relErr(captured[h].dataSync(), ref.read(h)), h).toBeLessThan(TOL)
    tf.dispose([logits!, ...Object.values(captured)])
    model.dispose()
  })

  it("an adapter the runner writes has PEFT's keys, shapes and config fields", async () => {
    const model = CausalLM.load(base, { mode: "memory" })
    const spec = { r: cfg.r, alpha: cfg.lora_alpha, dropout: cfg.lora_dropout, targets: cfg.target_modules as LoraTarget[], layers: cfg.layers_to_transform, rslora: cfg.use_rslora }
    const ours = LoraAdapter.init(model.arch, spec, 1)
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "cs-peft-"))
    await ours.save(out, cfg.base_model_name_or_path)
    const shapes = (f: string) => {
      const r = SafetensorsReader.open(f)
      const m = Object.fromEntries([...r.tensors].map(([k, v]) => [k, [...v.shape]]))
      r.close()
      return m
    }
    expect(shapes(path.join(out, "adapter_model.safetensors"))).toEqual(shapes(path.join(dir, "adapter_model.safetensors")))
    const written = JSON.parse(fs.readFileSync(path.join(out, "adapter_config.json"), "utf8"))
    for (const [k, v] of Object.entries(written)) {
      expect(cfg, `PEFT writes ${k}`).toHaveProperty(k)
      if (k === "target_modules") expect([...(v as string[])].sort()).toEqual([...cfg[k]].sort())
      else expect(v, k).toEqual(cfg[k])
    }
    // the fresh adapter (B = 0) leaves the model's outputs as they are
    const again = CausalLM.load(base, { mode: "memory", adapter: { dir: out } })
    const a = model.forward({ ids }).logits!
    const b = again.forward({ ids }).logits!
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()))
    tf.dispose([a, b])
    ours.dispose()
    again.dispose()
    model.dispose()
  })
})
