/**
 * `npm run bench`: speed figures of the synthetic experiment's hot paths on the active backend, each
 * beside a baseline measured in the same run so the numbers read as ratios:
 * - training step (forward + backward + Adam) of the quick and paper models; baseline: the quick step.
 * - TD (leave-one-out 10-NN) on 700 points x 4096 dims; target < 0.5 s per layer.
 * - activation store write / read MB/s of float32 vectors; baseline: raw fs write / read of the same bytes.
 * - extraction memory: live tensors, wasm heap and peak RSS after 1 and after 40 capture batches of the
 *   paper model (every hook_resid_post at two positions, as the extract stage runs it); a leak shows as growth.
 * - CLI start-up (`--help`), `validate` rejecting a config, and a fully cached quick sweep, each as wall
 *   time and as a ratio to `node -e 0` in the same run (tools/src/bench/cli.ts; the quick store is filled
 *   first when it is not complete).
 * - integrity: the commit's hashing of every file and `verify`, each as a ratio to writing the same bytes.
 * - `--backend NAME` (webgpu): the quick and paper training steps, the ~100M Llama forward and TD on that
 *   backend, each beside the same measurement on wasm (+ native kernels) from the same run, with
 *   tf.memory() after each (tools/src/bench-backend-child.ts, one process per measurement); only this
 *   section runs.
 * - `--only=queue` (only when named): the BullMQ executor against in-process (tools/src/bench/queue.ts).
 * Not a test: numbers depend on the machine. `--quick` shortens every measurement; `--only=memory,train,td,store,integrity,cli`
 * runs some sections.
 */
import { initBackend, RegressionTransformer, type RegressionTransformerConfig } from "@conceptscope/model-runners"
import * as tf from "@tensorflow/tfjs"
import { loadConfig, type SyntheticConfig } from "@conceptscope/pipeline"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { benchActivationStore } from "./bench/activation-store.js"
import { benchTD } from "./bench/td.js"
import { benchCli } from "./bench/cli.js"
import { benchIntegrity } from "./bench/integrity.js"
import { benchTrainStep } from "./bench/train-step.js"
import { benchQueue } from "./bench/queue.js"
import { spawnSync } from "node:child_process"
import { makeTinyCheckpoint } from "./tiny-checkpoints/index.js"

const short = process.argv.includes("--quick")
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",")
const want = (section: string) => !only || only.includes(section)
/** Sections that run minutes of sweeps: only when named in --only. */
const wantNamed = (section: string) => only?.includes(section) ?? false
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const rows: string[][] = []
const row = (...cells: (string | number)[]) => {
  rows.push(cells.map(String))
  process.stderr.write(cells.join("  ") + "\n")
}

async function modelOf(name: string) {
  const config = (await Effect.runPromise(loadConfig(name))).config as SyntheticConfig
  const m = config.model
  return {
    batch: config.train.batchSize,
    model: { ...m, xDim: config.task.dim, maxExamples: config.task.nExamples, seed: 0 }
  }
}

function rawIo(bytes: number, dir: string): { writeMBs: number; readMBs: number } {
  const buf = Buffer.alloc(bytes, 7)
  const file = path.join(dir, "raw.bin")
  let t = performance.now()
  fs.writeFileSync(file, buf)
  const w = (performance.now() - t) / 1000
  t = performance.now()
  fs.readFileSync(file)
  const r = (performance.now() - t) / 1000
  fs.rmSync(file)
  return { writeMBs: bytes / 1e6 / w, readMBs: bytes / 1e6 / r }
}

/** `--backend NAME`: each measurement on NAME and on wasm, in child processes. */
async function backendRows(name: string): Promise<void> {
  const dir = path.join(os.tmpdir(), "conceptscope-bench-llama3-100m")
  if (!fs.existsSync(path.join(dir, "model.safetensors"))) await makeTinyCheckpoint({ arch: "llama3", size: "100m", out: dir, seed: 1 })
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), "bench-backend-child.ts")
  const labels: Record<string, string> = { quick: "train step, quick model", paper: "train step, paper model", lm: "llama-100m forward (4 x 128, in memory)", td: "TD 700 x 4096 (LOO 10-NN)" }
  for (const what of ["quick", "paper", "lm", "td"]) {
    const got = ["wasm", name].map((b) => {
      const p = spawnSync(process.execPath, [...process.execArgv, child, "--backend", b, "--what", what, "--model", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
      if (p.status !== 0) throw new Error(`bench-backend-child --backend ${b} --what ${what} failed (exit ${p.status})`)
      return JSON.parse(p.stdout.trim().split("\n").at(-1) as string) as { backend: string; reason: string; ms: number; tensors: number; bytes: number; gpuBytes: number | null }
    })
    const [cpu, other] = got
    if (what === "quick") for (const g of got) row("backend", g.backend, g.reason)
    const mem = (g: (typeof got)[number]) => `${g.tensors} tensors, ${(g.bytes / 2 ** 20).toFixed(1)} MB held${g.gpuBytes === null ? "" : ` (${(g.gpuBytes / 2 ** 20).toFixed(1)} MB on the GPU)`}`
    row(`${labels[what]}, wasm`, `${cpu.ms.toFixed(1)} ms`, mem(cpu), "1.00x (baseline)")
    row(`${labels[what]}, ${other.backend}`, `${other.ms.toFixed(1)} ms`, mem(other), `${(other.ms / cpu.ms).toFixed(2)}x wasm's time`)
  }
  console.log("\n| measurement | value | note | ratio |\n|---|---|---|---|")
  for (const r of rows) console.log(`| ${r.join(" | ")} |`)
}

const main = async () => {
  const other = process.argv.find((a, i) => process.argv[i - 1] === "--backend")
  if (other !== undefined) return backendRows(other)
  const info = await initBackend()
  row("backend", info.name, info.reason)
  const quick = await modelOf("quick")
  const paper = await modelOf("paper")
  if (want("memory")) {
    // first, while the wasm heap holds nothing else (it never shrinks)
    const ex = extractionMemory(paper.model, short ? 8 : 40)
    row("extraction memory, after 1 batch", `${ex.first.tensors} tensors`, `wasm heap ${ex.first.heapMb.toFixed(0)} MB`, `peak RSS ${ex.first.rssMb.toFixed(0)} MB`)
    row(`extraction memory, after ${ex.batches} batches`, `${ex.last.tensors} tensors`, `wasm heap ${ex.last.heapMb.toFixed(0)} MB`, `peak RSS ${ex.last.rssMb.toFixed(0)} MB (${(ex.last.rssMb / ex.first.rssMb).toFixed(2)}x after 1)`)
  }
  if (want("train")) {
    const q = await benchTrainStep(quick.model, quick.batch, short ? 3 : 20)
    row("train step, quick model", `${q.msPerStep.toFixed(1)} ms`, `batch ${quick.batch}`, "1.00x (baseline)")
    const p = await benchTrainStep(paper.model, paper.batch, short ? 1 : 3)
    row("train step, paper model", `${p.msPerStep.toFixed(1)} ms`, `batch ${paper.batch}`, `${(p.msPerStep / q.msPerStep).toFixed(1)}x quick`)
    const steps = 80_000
    row("  paper: 80K steps would take", `${((p.msPerStep * steps) / 3.6e6).toFixed(1)} h on this backend`)
  }
  if (want("td")) {
    const tdMs = benchTD(700, 4096)
    row("TD 700 x 4096 (LOO 10-NN)", `${tdMs.toFixed(0)} ms`, "target < 500 ms", `${(tdMs / 500).toFixed(2)}x target`)
  }
  if (want("store")) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cs-bench-"))
    const store = await benchActivationStore({ rows: 700, dModel: 4096, dir, layers: short ? 2 : 8 })
    const raw = rawIo(700 * 4096 * 4 * (short ? 2 : 8), dir)
    row("activation store write", `${store.writeMBs.toFixed(0)} MB/s`, "target >= 300", `${(store.writeMBs / raw.writeMBs).toFixed(2)}x raw fs write (${raw.writeMBs.toFixed(0)} MB/s)`)
    row("activation store read", `${store.readMBs.toFixed(0)} MB/s`, "target >= 500", `${(store.readMBs / raw.readMBs).toFixed(2)}x raw fs read (${raw.readMBs.toFixed(0)} MB/s)`)
    fs.rmSync(dir, { recursive: true, force: true })
  }
  if (want("integrity")) {
    const r = await benchIntegrity(short ? 64 : 256)
    row(`artifact write (${r.mb} MB in 4 files, in the stage)`, `${r.writeMs.toFixed(0)} ms`, `${(r.mb / (r.writeMs / 1000)).toFixed(0)} MB/s`, "1.00x (baseline)")
    row("  + commit (list, size and xxhash64 every file)", `${r.commitMs.toFixed(0)} ms`, "", `${(r.commitMs / r.writeMs).toFixed(2)}x the write`)
    row("  verify (re-read and hash every file)", `${r.verifyMs.toFixed(0)} ms`, "", `${(r.verifyMs / r.writeMs).toFixed(2)}x the write`)
  }
  if (wantNamed("queue")) {
    for (const r of await benchQueue(ROOT, { trivialSeeds: short ? 4 : 8, quickSteps: short ? 500 : 5000 })) row(r.name, `${r.seconds.toFixed(1)} s`, r.note)
  }
  if (want("cli")) {
    const targets: Record<string, string> = { "conceptscope --help": "target < 1 s", "conceptscope sweep --config quick (every stage cached)": "target < 5 s" }
    for (const r of benchCli(ROOT, short ? 3 : 5)) row(r.name, `${r.seconds.toFixed(2)} s`, targets[r.name] ?? "", r.ratio === 1 ? "1.00x (baseline)" : `${r.ratio.toFixed(1)}x node -e 0`)
  }
  console.log("\n| measurement | value | note | ratio |\n|---|---|---|---|")
  for (const r of rows) console.log(`| ${r.join(" | ")} |`)
}

/** Capture every blocks.l.hook_resid_post at the last two positions for `batches` batches of 128 sequences. */
function extractionMemory(config: RegressionTransformerConfig, batches: number) {
  const model = RegressionTransformer.create(config)
  const K = config.maxExamples
  const hooks = Array.from({ length: config.nLayers }, (_, l) => `blocks.${l}.hook_resid_post`)
  const heapMb = () => ((tf.backend() as unknown as { wasm?: { HEAPF32: Float32Array } }).wasm?.HEAPF32.byteLength ?? 0) / 2 ** 20
  const sample = () => ({ tensors: tf.memory().numTensors, heapMb: heapMb(), rssMb: process.resourceUsage().maxRSS / 1024 })
  const batch = () => {
    const xs = tf.randomNormal([128, K, config.xDim])
    const ys = tf.randomNormal([128, K])
    const { preds, captured } = model.forward(xs, ys, { capture: { hooks, positions: [2 * K - 2, 2 * K - 1] } })
    for (const t of captured.values()) {
      t.dataSync()
      t.dispose()
    }
    tf.dispose([xs, ys, preds])
  }
  batch()
  const first = sample()
  for (let i = 1; i < batches; i++) batch()
  const last = sample()
  model.dispose()
  return { first, last, batches }
}

main().catch((e) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
