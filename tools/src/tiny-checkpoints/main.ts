/**
 * npx tsx tools/src/tiny-checkpoints/main.ts --arch <llama|llama3|mistral|qwen2|gemma2|olmo|gpt2> --out <dir>
 *   [--dtype f32|bf16|f16] [--shards N] [--seed S] [--size tiny|100m] [--init lively|hf] [--set key=value ...]
 * Writes a random Hugging Face-format checkpoint directory; prints one line per file written
 * ("<bytes>\t<path>"); on bad arguments prints one "error: ..." line and exits 1.
 * --set takes config keys (dotted for nested: rope_scaling.factor=4; a leading "config." is allowed);
 * values are JSON when they parse, else strings. It may be repeated.
 * @conceptscope/safetensors is imported from its build (dist/); to run from sources without building,
 * add --conditions=@conceptscope/source after tsx.
 */
import { ARCHS, type Arch, DTYPES, type Dtype, makeTinyCheckpoint, SIZES, type Size } from "./index.js"

const USAGE =
  "usage: main.ts --arch <" + ARCHS.join("|") + "> --out <dir> [--dtype f32|bf16|f16] [--shards N] [--seed S] [--size tiny|100m] [--init lively|hf] [--set key=value ...]"

function parseArgs(argv: readonly string[]) {
  const one: Record<string, string> = {}
  const sets: string[] = []
  const known = ["--arch", "--out", "--dtype", "--shards", "--seed", "--size", "--init", "--set"]
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i]
    let value: string | undefined
    const eq = flag.indexOf("=")
    if (flag.startsWith("--") && eq > 0) {
      value = flag.slice(eq + 1)
      flag = flag.slice(0, eq)
    }
    if (flag === "--help" || flag === "-h") throw new Error(USAGE)
    if (!known.includes(flag)) throw new Error(`unknown argument "${argv[i]}"; ${USAGE}`)
    if (value === undefined) {
      value = argv[++i]
      if (value === undefined) throw new Error(`${flag} needs a value`)
    }
    if (flag === "--set") sets.push(value)
    else if (flag in one) throw new Error(`${flag} given twice`)
    else one[flag] = value
  }
  const integer = (flag: string, fallback: number) => {
    const s = one[flag]
    if (s === undefined) return fallback
    if (!/^\d+$/.test(s)) throw new Error(`${flag} expects a non-negative integer, got "${s}"`)
    return Number(s)
  }
  if (one["--arch"] === undefined) throw new Error(`--arch is required; ${USAGE}`)
  if (one["--out"] === undefined) throw new Error(`--out is required; ${USAGE}`)
  if (!(ARCHS as readonly string[]).includes(one["--arch"])) throw new Error(`unknown --arch "${one["--arch"]}" (one of ${ARCHS.join(", ")})`)
  const dtype = one["--dtype"] ?? "f32"
  if (!(DTYPES as readonly string[]).includes(dtype)) throw new Error(`unknown --dtype "${dtype}" (one of ${DTYPES.join(", ")})`)
  const size = one["--size"] ?? "tiny"
  if (!(SIZES as readonly string[]).includes(size)) throw new Error(`unknown --size "${size}" (one of ${SIZES.join(", ")})`)
  const init = one["--init"]
  if (init !== undefined && init !== "lively" && init !== "hf") throw new Error(`unknown --init "${init}" (lively or hf)`)
  return {
    arch: one["--arch"] as Arch,
    out: one["--out"],
    dtype: dtype as Dtype,
    size: size as Size,
    shards: integer("--shards", 1),
    seed: integer("--seed", 0),
    init: init as "lively" | "hf" | undefined,
    set: sets
  }
}

async function main(): Promise<void> {
  let opts: ReturnType<typeof parseArgs>
  try {
    opts = parseArgs(process.argv.slice(2))
    await makeTinyCheckpoint({ ...opts, onFile: (path, bytes) => process.stdout.write(`${bytes}\t${path}\n`) })
  } catch (e) {
    process.stderr.write(`error: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}\n`)
    process.exit(1)
  }
}

void main()
