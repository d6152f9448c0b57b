import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { CLI, ROOT, tinyConfig, tmp, writeConfig } from "./helpers.js"

/**
 * Malformed input, as a user gives it: each case must end in exactly one line `error: <file>: <field>:
 * <reason>` on stderr, exit code 1, and an artifact store (or output file) left as it was. The
 * expected lines are golden: a change to one is a change to what users read.
 */
const dir = tmp("cs-malformed-")
const store = path.join(dir, "store")
const base = tinyConfig()
const cfg = (name: string, patch: (c: Record<string, unknown>) => void) => {
  const c = structuredClone(base) as Record<string, unknown>
  patch(c)
  return writeConfig(dir, c, `${name}.json`)
}
const set = (path: string, value: unknown) => (c: Record<string, unknown>) => {
  const keys = path.split(".")
  let node = c
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>
  node[keys[keys.length - 1]] = value
}
const good = writeConfig(dir, base, "good.json")

/** A copy of a committed tiny HF checkpoint, changed by `change`. */
const model = (name: string, change: (d: string) => void) => {
  const d = path.join(dir, name)
  fs.cpSync(path.join(ROOT, "packages/model-runners/test/fixtures/hf/gpt2"), d, { recursive: true })
  change(d)
  return d
}
const json = (file: string, patch: (j: Record<string, unknown>) => void) => {
  const j = JSON.parse(fs.readFileSync(file, "utf8"))
  patch(j)
  fs.writeFileSync(file, JSON.stringify(j))
}
/** Rewrite a safetensors header (same data section), e.g. to make two tensors' bytes overlap. */
const header = (file: string, patch: (h: Record<string, { data_offsets: [number, number] }>) => void) => {
  const buf = fs.readFileSync(file)
  const n = Number(buf.readBigUInt64LE(0))
  const h = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"))
  patch(h)
  let text = JSON.stringify(h)
  text += " ".repeat((8 - (Buffer.byteLength(text) % 8)) % 8)
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(text)))
  fs.writeFileSync(file, Buffer.concat([len, Buffer.from(text), buf.subarray(8 + n)]))
}
const ids = (name: string, text: string) => {
  const f = path.join(dir, `${name}.json`)
  fs.writeFileSync(f, text)
  return f
}

type Case = [label: string, args: () => string[], expected: RegExp]
const sweep = (file: string, ...more: string[]) => ["sweep", "--config", file, "--store", store, "--out", path.join(dir, "reports"), ...more]
const dump = (m: string, ...more: string[]) => ["dump", "--model", m, "--out", path.join(dir, "dump.safetensors"), ...more]
const gptIds = path.join(ROOT, "packages/model-runners/test/fixtures/hf/gpt2/ids.json")

const CASES: Case[] = [
  // the config file itself
  ["missing config", () => sweep(path.join(dir, "nope.json")), /^error: .*nope\.json: \(file\): no such file$/],
  ["broken JSON", () => sweep(ids("broken", '{ "name": ')), /^error: .*broken\.json: \(json\): .*JSON/],
  ["a list, not a config", () => sweep(ids("list", "[1, 2]")), /^error: .*list\.json: \(root\): expected a JSON object \(a config\), got a list$/],
  ["unknown field", () => sweep(cfg("bogus", set("bogus", 1))), /^error: .*bogus\.json: bogus: is unexpected/],
  ["unknown experiment", () => sweep(cfg("experiment", set("experiment", "llm-someday"))), /^error: .*experiment\.json: experiment: "llm-someday" is not an experiment \(synthetic, llm\)$/],
  ["name '..'", () => sweep(cfg("dots", set("name", ".."))), /^error: .*dots\.json: name: letters, digits/],
  ["name with a slash", () => sweep(cfg("slash", set("name", "a/b"))), /^error: .*slash\.json: name: letters, digits/],
  ["no seeds", () => sweep(cfg("seeds", set("seeds", []))), /^error: .*seeds\.json: seeds: at least one seed$/],
  ["negative seed", () => sweep(cfg("seedneg", set("seeds", [-1]))), /^error: .*seedneg\.json: seeds\.0: .*non-negative/],
  ["seed as text", () => sweep(cfg("seedtext", set("seeds", ["1"]))), /^error: .*seedtext\.json: seeds\.0: Expected number/],
  // task
  ["task.dim 0", () => sweep(cfg("dim0", set("task.dim", 0))), /^error: .*dim0\.json: task\.dim: .*positive/],
  ["rank x bases > dim", () => sweep(cfg("rank", set("task.rank", 3))), /^error: .*rank\.json: task\.rank: rank \* nBases = 6 exceeds dim = 4/],
  ["unknown layout", () => sweep(cfg("layout", set("task.layout", "diagonal"))), /^error: .*layout\.json: task\.layout: Expected "disjoint" \| "overlapping", actual "diagonal"$/],
  ["negative noise", () => sweep(cfg("noise", set("task.noiseVariance", -1))), /^error: .*noise\.json: task\.noiseVariance: .*non-negative/],
  ["unknown weight pool", () => sweep(cfg("pool", set("task.weightPool", { kind: "pooled" }))), /^error: .*pool\.json: task\.weightPool\.kind: /],
  ["input dim too large for memory", () => sweep(good, "--set", "task.dim=100000000"), /^error: .*good\.json: task\.dim: a 2-layer width-16 model on 100000000-dim inputs needs about .* GB to train/],
  // model
  ["no layers", () => sweep(cfg("layers", set("model.nLayers", 0))), /^error: .*layers\.json: model\.nLayers: .*positive/],
  ["heads as text", () => sweep(cfg("heads", set("model.nHeads", "two"))), /^error: .*heads\.json: model\.nHeads: Expected number/],
  ["heads not dividing the width", () => sweep(good, "--set", "model.dModel=15"), /^error: .*good\.json: model\.dModel: 15 is not divisible by model\.nHeads \(2\)$/],
  ["a model too large for memory", () => sweep(good, "--set", "model.dModel=100000"), /^error: .*good\.json: model\.dModel: a 2-layer width-100000 model .* needs about .* GB to train/],
  ["unknown token format", () => sweep(cfg("tokens", set("model.tokenFormat", "xyz"))), /^error: .*tokens\.json: model\.tokenFormat: /],
  // training
  ["negative steps", () => sweep(cfg("steps", set("train.steps", -3))), /^error: .*steps\.json: train\.steps: .*positive/],
  ["infinite learning rate", () => sweep(good, "--set", "train.lr=1e999"), /^error: .*good\.json: train\.lr: Infinity is not a finite number$/],
  ["learning rate as text", () => sweep(good, "--set", "train.lr=fast"), /^error: .*good\.json: train\.lr: Expected number, actual "fast"/],
  ["beta1 above 1", () => sweep(good, "--set", "train.beta1=1.5"), /^error: .*good\.json: train\.beta1: /],
  ["unknown decay", () => sweep(good, "--set", 'train.lrSchedule={"decay":"exp"}'), /^error: .*good\.json: train\.lrSchedule\.decay: /],
  ["warmup not shorter than training", () => sweep(good, "--set", 'train.lrSchedule={"decay":"cosine","warmupSteps":30}'), /^error: .*good\.json: train\.lrSchedule\.warmupSteps: 30 is not below train\.steps \(30\)$/],
  ["no checkpoints", () => sweep(good, "--set", "train.checkpoints=0"), /^error: .*good\.json: train\.checkpoints: .*positive/],
  // evaluation, probes, patching
  ["eval set not a multiple of the bases", () => sweep(good, "--set", "eval.sequences=41"), /^error: .*good\.json: eval\.sequences: 41 is not a multiple of task\.nBases \(2\)/],
  ["no probe sequences", () => sweep(good, "--set", "probe.perConcept=0"), /^error: .*good\.json: probe\.perConcept: .*positive/],
  ["k larger than the probe set", () => sweep(good, "--set", "probe.k=1000"), /^error: .*good\.json: probe\.k: 1000 neighbours need more than the 23 other points/],
  ["unknown metric", () => sweep(good, "--set", "probe.metric=manhattan"), /^error: .*good\.json: probe\.metric: Expected "euclidean" \| "cosine", actual "manhattan"$/],
  ["position outside the sequence", () => sweep(good, "--set", "probe.positions=[8]"), /^error: .*good\.json: probe\.positions\.0: 8 is outside the 8 tokens of 4 examples$/],
  ["report position not probed", () => sweep(good, "--set", "probe.positions=[\"last-x\"]"), /^error: .*good\.json: probe\.reportPosition: token 7 is not among probe\.positions/],
  ["report layer outside the model", () => sweep(good, "--set", "probe.reportLayer=2"), /^error: .*good\.json: probe\.reportLayer: 2 is not a layer of a 2-layer model \(0\.\.1\)$/],
  ["patching layer outside the model", () => sweep(good, "--set", "patching.layer=5"), /^error: .*good\.json: patching\.layer: 5 is not a layer of a 2-layer model/],
  ["last-layer y-token patch", () => sweep(good, "--set", "patching.layer=1", "--set", 'patching.positions="y-tokens"'), /^error: .*good\.json: patching\.layer: 1 is the last layer: no later layer reads its y-token outputs/],
  ["unknown patching mode", () => sweep(good, "--set", "patching.mode=swap"), /^error: .*good\.json: patching\.mode: /],
  ["patch position outside", () => sweep(good, "--set", "patching.positions=[-9]"), /^error: .*good\.json: patching\.positions\.0: -9 is outside the 8 tokens/],
  ["more patch sources than held-out", () => sweep(good, "--set", "patching.perConcept=21"), /^error: .*good\.json: patching\.perConcept: 21 exceeds the 20 held-out sequences of each basis/],
  ["zero ridge", () => sweep(good, "--set", 'curves={"ridge":0}'), /^error: .*good\.json: curves\.ridge: .*positive/],
  ["zero batch", () => sweep(good, "--set", 'compute={"batchSize":0}'), /^error: .*good\.json: compute\.batchSize: .*positive/],
  ["criterion above 1", () => sweep(good, "--set", 'criteria={"minTdFinal":1.5}'), /^error: .*good\.json: criteria\.minTdFinal: /],
  // the command line
  ["--set without a value", () => sweep(good, "--set", "train.steps"), /^error: --set: train\.steps: expected key\.path=value$/],
  ["--set into a prototype", () => sweep(good, "--set", "__proto__.polluted=1"), /^error: --set: __proto__\.polluted: not a config field$/],
  ["--until not a stage", () => sweep(good, "--until", "bogus"), /^error: --until: bogus: not a stage of experiment synthetic \(evalset, /],
  ["unknown backend", () => sweep(good, "--backend", "gpu"), /^error: --backend: gpu: not a backend \(auto, /],
  ["no cells at a time", () => sweep(good, "--concurrency", "0"), /^error: --concurrency: 0: at least 1 cell at a time$/],
  ["unknown subcommand", () => ["bogus"], /^error: Invalid subcommand for conceptscope/],
  // model directories and token ids (dump)
  ["model directory missing", () => dump(path.join(dir, "no-model"), "--ids", gptIds), /^error: .*no-model/],
  ["no config.json", () => dump(model("no-config", (d) => fs.rmSync(path.join(d, "config.json"))), "--ids", gptIds), /^error: .*no-config.*config\.json/],
  ["unknown model_type", () => dump(model("unknown-type", (d) => json(path.join(d, "config.json"), (j) => (j.model_type = "mamba"))), "--ids", gptIds), /^error: .*unknown-type.*model_type.*mamba/],
  [
    "overlapping tensor offsets",
    () => dump(model("overlap", (d) => header(path.join(d, "model.safetensors"), (h) => {
      const names = Object.keys(h).filter((k) => k !== "__metadata__").sort((a, b) => h[a].data_offsets[0] - h[b].data_offsets[0])
      const t = h[names[1]]
      t.data_offsets = [t.data_offsets[0] - 4, t.data_offsets[1] - 4]
    })), "--ids", gptIds),
    /^error: .*overlap\/model\.safetensors \[.*\]: bytes \[\d+, \d+\) overlap tensor/
  ],
  ["fewer layers in config.json than stored", () => dump(model("layers-config", (d) => json(path.join(d, "config.json"), (j) => (j.n_layer = 1))), "--ids", gptIds), /^error: .*layers-config\/config\.json: n_layer: 1, but model\.safetensors holds layers 0\.\.1 \(2 layers\)$/],
  [
    "NaN weights",
    () =>
      dump(
        model("nan", (d) => {
          // one NaN in the first layer's MLP weights (float32 bits 0x7fc00000)
          const f = path.join(d, "model.safetensors")
          const buf = fs.readFileSync(f)
          const n = Number(buf.readBigUInt64LE(0))
          const h = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"))
          const name = Object.keys(h).find((k) => k.includes("h.0.mlp.c_fc.weight"))!
          buf.writeUInt32LE(0x7fc00000, 8 + n + h[name].data_offsets[0])
          fs.writeFileSync(f, buf)
        }),
        "--ids",
        gptIds
      ),
    /^error: forward: non-finite values first appear at blocks\.0\.hook_resid_post \(layer 0\) of .*nan \(--allow-non-finite writes them\)$/
  ],
  ["ids not JSON", () => dump(path.join(ROOT, "packages/model-runners/test/fixtures/hf/gpt2"), "--ids", ids("ids-broken", "[[1,")), /^error: .*ids-broken\.json: \(root\): not readable JSON/],
  ["ragged ids", () => dump(path.join(ROOT, "packages/model-runners/test/fixtures/hf/gpt2"), "--ids", ids("ids-ragged", "[[1,2],[3]]")), /^error: .*ids-ragged\.json: /],
  ["id beyond the vocabulary", () => dump(path.join(ROOT, "packages/model-runners/test/fixtures/hf/gpt2"), "--ids", ids("ids-vocab", "[[1,300]]")), /^error: .*ids-vocab\.json: \[0\]\[1\]: token id 300 is outside the vocabulary 0\.\.299 of /]
]

/** Everything under a directory (relative paths), to check that a failed command left it as it was. */
const listing = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d, { recursive: true }).map(String).sort() : [])

describe("malformed input: one line, exit 1, nothing written", () => {
  it(`has at least 40 cases (${CASES.length})`, () => expect(CASES.length).toBeGreaterThanOrEqual(40))
  it.each(CASES)("%s", (_label, args, expected) => {
    const before = listing(store)
    const r = spawnSync(process.execPath, [CLI, ...args()], { cwd: ROOT, encoding: "utf8", env: { ...process.env, CONCEPTSCOPE_QUIET: "1" } })
    const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("[backend]"))
    expect(lines, r.stderr).toHaveLength(1)
    expect(lines[0]).toMatch(expected)
    expect(r.status).toBe(1)
    expect(listing(store)).toEqual(before)
    expect(fs.existsSync(path.join(dir, "dump.safetensors"))).toBe(false)
  })

  it("--allow-non-finite writes what a NaN weight produces instead of failing", () => {
    const out = path.join(dir, "nan-dump.safetensors")
    const r = spawnSync(process.execPath, [CLI, "dump", "--model", path.join(dir, "nan"), "--ids", gptIds, "--out", out, "--allow-non-finite"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, CONCEPTSCOPE_QUIET: "1" } })
    expect(r.status, r.stderr).toBe(0)
    expect(fs.statSync(out).size).toBeGreaterThan(0)
    fs.rmSync(out)
  })

  it("a UTF-8 byte order mark is not an error", () => {
    const file = path.join(dir, "bom.json")
    fs.writeFileSync(file, "\uFEFF" + JSON.stringify(base))
    const r = spawnSync(process.execPath, [CLI, "validate", "--config", file], { cwd: ROOT, encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
  })
})
