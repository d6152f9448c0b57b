/**
 * `npm run bench:torch`: the project's training step against the same model in PyTorch, interleaved in
 * one invocation so both see the same machine state. For each model (the GPT config of issue 4 and the
 * quick preset's regression transformer) and each of `--rounds` rounds: the tfjs step (native kernels
 * as installed; `--stock` adds a CONCEPTSCOPE_NATIVE=0 run), then tools/torch/bench_step.py at every
 * thread count 1..nproc. Each side runs in its own process (peak RSS is per process). Reports the best
 * (minimum) time of each side over rounds and the ratio tfjs / PyTorch-best. PyTorch runs only when
 * Debian's python3-torch is importable by /usr/bin/python3 (or $CONCEPTSCOPE_PYTHON).
 */
import { execFileSync } from "node:child_process"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")
const python = process.env.CONCEPTSCOPE_PYTHON ?? "/usr/bin/python3"
const argv = process.argv.slice(2)
const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? Number(argv[i + 1]) : dflt
}
const rounds = opt("rounds", 3)
const stockToo = argv.includes("--stock")
const models = argv.includes("--only-quick") ? ["quick"] : argv.includes("--only-gpt") ? ["gpt"] : ["gpt", "quick"]
const STEPS: Record<string, [number, number]> = { gpt: [3, 1], quick: [20, 3] } // [timed, warm-up]

interface Sample {
  readonly ms: number
  readonly rss: number
}

function runJson(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Record<string, unknown> {
  const out = execFileSync(cmd, args, { cwd: root, env: { ...process.env, CONCEPTSCOPE_QUIET: "1", ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
  const line = out.trim().split("\n").pop() ?? ""
  return JSON.parse(line) as Record<string, unknown>
}

function torchAvailable(): string | null {
  try {
    return execFileSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
  } catch {
    return null
  }
}

const best = (xs: Sample[]): Sample => xs.reduce((a, b) => (b.ms < a.ms ? b : a))

const main = () => {
  const torch = torchAvailable()
  const threads = Array.from({ length: os.cpus().length }, (_, i) => i + 1)
  process.stderr.write(`PyTorch: ${torch ?? "not available (apt-get install python3-torch); tfjs side only"}\n`)
  const rows: string[] = []
  for (const model of models) {
    const [steps, warmup] = STEPS[model]
    const sides = new Map<string, Sample[]>()
    const add = (k: string, s: Sample) => sides.set(k, [...(sides.get(k) ?? []), s])
    for (let r = 0; r < rounds; r++) {
      const variants: [string, NodeJS.ProcessEnv][] = [["tfjs (native kernels)", {}], ...(stockToo ? [["tfjs (stock wasm)", { CONCEPTSCOPE_NATIVE: "0" }] as [string, NodeJS.ProcessEnv]] : [])]
      for (const [name, env] of variants) {
        const j = runJson(process.execPath, ["--import", "tsx", path.join(here, "bench-step-child.ts"), "--model", model, "--steps", String(steps), "--warmup", String(warmup)], env)
        add(name, { ms: j.ms_per_step as number, rss: j.peak_rss_mb as number })
        process.stderr.write(`  ${model} round ${r + 1}: ${name} ${(j.ms_per_step as number).toFixed(1)} ms, ${(j.peak_rss_mb as number).toFixed(0)} MB (${j.kernels})\n`)
      }
      if (torch)
        for (const t of threads) {
          const j = runJson(python, ["tools/torch/bench_step.py", "--model", model === "quick" ? "regression" : "gpt", "--threads", String(t), "--steps", String(steps), "--warmup", String(warmup)])
          add(`PyTorch ${t} thread(s)`, { ms: j.ms_per_step as number, rss: j.peak_rss_mb as number })
          process.stderr.write(`  ${model} round ${r + 1}: PyTorch ${t} thread(s) ${(j.ms_per_step as number).toFixed(1)} ms, ${(j.peak_rss_mb as number).toFixed(0)} MB\n`)
        }
    }
    const torchBest = [...sides.entries()].filter(([k]) => k.startsWith("PyTorch")).map(([k, v]) => ({ k, ...best(v) })).sort((a, b) => a.ms - b.ms)[0]
    for (const [k, v] of sides) {
      const b = best(v)
      const ratio = torchBest ? `${(b.ms / torchBest.ms).toFixed(2)}x time, ${(b.rss / torchBest.rss).toFixed(2)}x RSS vs ${torchBest.k}` : "-"
      rows.push(`| ${model} | ${k} | ${b.ms.toFixed(1)} ms | ${b.rss.toFixed(0)} MB | ${ratio} |`)
    }
  }
  console.log(`\nbest of ${rounds} interleaved rounds; training step = forward + backward + Adam\n`)
  console.log("| model | side | step | peak RSS | vs PyTorch's best |\n|---|---|---|---|---|")
  for (const r of rows) console.log(r)
}

main()
