import { ArtifactStoreLive, type LockOwner, ParamsError, verifyStore } from "@conceptscope/artifacts"
import { note } from "@conceptscope/core"
import { Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Exit, Layer, Option } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { isMainThread, workerData } from "node:worker_threads"
import { DEFAULT_CONFIG, defaultStore, type LoadedConfig, loadConfig } from "./config/load.js"
import { readSuite } from "./config/suite.js"
import { InProcessExecutor } from "./executor.js"

const BACKENDS = ["auto", "tfjs-node-gpu", "webgpu", "tfjs-node", "wasm", "cpu"] as const

const configOpt = Options.text("config").pipe(
  Options.withDescription("config file, or the name of a preset in apps/pipeline/configs (default: quick then llm/embedded; quick, emergence, emergence-fresh, overlapping, diversity, paper, llm/embedded, llm/llama-3.1-8b, ...)"),
  Options.withDefault(process.env.CONCEPTSCOPE_CONFIG ?? DEFAULT_CONFIG)
)
const setOpt = Options.text("set").pipe(Options.repeated, Options.withDescription("override a config field: --set train.steps=500"))
const storeOpt = Options.text("store").pipe(Options.withDescription("artifact store (default .conceptscope/store/<config name>, or $CONCEPTSCOPE_STORE)"), Options.optional)
const outOpt = Options.text("out").pipe(Options.withDescription("reports go to <out>/<config name>/seed-<seed>/"), Options.withDefault(process.env.CONCEPTSCOPE_OUT ?? ".conceptscope/reports"))
const backendOpt = Options.text("backend").pipe(
  Options.withDescription(`tensor backend: ${BACKENDS.join(", ")} (or $CONCEPTSCOPE_BACKEND)`),
  Options.withDefault(process.env.CONCEPTSCOPE_BACKEND ?? "auto")
)
/** The backend an option names, or a ParamsError naming --backend (or the variable it came from). */
const backendOf = (name: string) =>
  (BACKENDS as readonly string[]).includes(name)
    ? Effect.succeed(name as (typeof BACKENDS)[number])
    : Effect.fail(new ParamsError({ file: process.env.CONCEPTSCOPE_BACKEND === name ? "CONCEPTSCOPE_BACKEND" : "--backend", field: name, reason: `not a backend (${BACKENDS.join(", ")})` }))
const untilOpt = Options.text("until").pipe(Options.withDescription("stop after this stage (and the stages it needs); default: the report"), Options.optional)
const concurrencyOpt = Options.integer("concurrency").pipe(Options.withDescription("cells run at once in this process"), Options.withDefault(1))
const EXECUTORS = ["in-process", "bullmq"] as const
const executorOpt = Options.choice("executor", EXECUTORS).pipe(
  Options.withDescription("in-process (default), or bullmq: every stage a job on Redis for `conceptscope worker` processes on any machine sharing --store"),
  Options.withDefault("in-process" as const)
)
const redisOpt = Options.text("redis").pipe(Options.withDescription("Redis URL of the job queue (or $CONCEPTSCOPE_REDIS), e.g. redis://127.0.0.1:6379"), Options.optional)
/** The Redis URL of --redis or $CONCEPTSCOPE_REDIS, or a ParamsError naming --redis. */
const redisOf = (o: Option.Option<string>) =>
  Option.match(Option.orElse(o, () => Option.fromNullable(process.env.CONCEPTSCOPE_REDIS)), {
    onSome: (url) => Effect.succeed(url),
    onNone: () => Effect.fail(new ParamsError({ file: "--redis", field: "(missing)", reason: "the job queue's Redis URL is needed (--redis redis://HOST:PORT or $CONCEPTSCOPE_REDIS)" }))
  })

interface SweepOptions {
  readonly set: readonly string[]
  readonly store: Option.Option<string>
  readonly out: string
  readonly backend: (typeof BACKENDS)[number]
  readonly concurrency: number
  /** the BullMQ queue's Redis URL, or null for the in-process executor */
  readonly redis: string | null
}

/** Sweep one config through `until` (default: its report); returns the report paths. */
const sweepOne = (loaded: LoadedConfig, until: string | undefined, o: SweepOptions) =>
  Effect.gen(function* () {
    // loaded on demand, so that `validate` and `--help` start without stage code
    const [{ sweep }, { TensorBackendLive, useTensorBackend }, { BullmqExecutor }] = yield* Effect.promise(() =>
      Promise.all([import("./sweep.js"), import("./backend.js"), o.redis === null ? { BullmqExecutor: null } : import("./queue/bullmq-executor.js")])
    )
    const name = loaded.experiment.configName(loaded.config)
    const store = Option.getOrElse(o.store, () => defaultStore(name))
    const waiting = (owner: LockOwner, kind: string, key: string) =>
      note("store", `${kind}/${key} is being computed by pid ${owner.pid} on ${owner.host} (since ${owner.since}); waiting for it`)
    const executor = o.redis !== null && BullmqExecutor !== null ? BullmqExecutor({ redis: o.redis }) : InProcessExecutor(o.concurrency)
    const layers = Layer.mergeAll(ArtifactStoreLive(store, { onWait: waiting }), TensorBackendLive(o.backend), executor)
    // a GPU asked for by name is started before any stage runs: without it the sweep fails at once
    const run = Effect.gen(function* () {
      if (o.backend === "webgpu") yield* useTensorBackend
      return yield* sweep({ loaded, until, outDir: path.resolve(o.out) })
    })
    return yield* run.pipe(Effect.provide(layers))
  })

const stageNames = (l: LoadedConfig) => l.experiment.entries.map((e) => e.name)

const sweepCmd = Command.make(
  "sweep",
  { config: configOpt, set: setOpt, store: storeOpt, out: outOpt, backend: backendOpt, until: untilOpt, concurrency: concurrencyOpt, executor: executorOpt, redis: redisOpt },
  (o) =>
    Effect.gen(function* () {
      const t0 = performance.now()
      const backend = yield* backendOf(o.backend)
      const redis = o.executor === "bullmq" ? yield* redisOf(o.redis) : null
      if (o.concurrency < 1) return yield* Effect.fail(new ParamsError({ file: "--concurrency", field: String(o.concurrency), reason: "at least 1 cell at a time" }))
      const until = Option.getOrUndefined(o.until)
      const suite = yield* Effect.try({ try: () => readSuite(o.config), catch: (e) => e as ParamsError })
      if (suite && (o.set.length > 0 || Option.isSome(o.store)))
        return yield* Effect.fail(new ParamsError({ file: suite.file, field: o.set.length > 0 ? "--set" : "--store", reason: "a suite sweeps several configs, each with its own store; run one member with --config to override it" }))
      const members = yield* Effect.forEach(suite ? suite.members : [o.config], (m) => loadConfig(m, o.set))
      // --until names a stage: a suite runs the member that has it, through that stage
      const runs = until === undefined ? members : members.filter((l) => stageNames(l).includes(until))
      if (until !== undefined && runs.length === 0)
        return yield* Effect.fail(
          new ParamsError({ file: "--until", field: until, reason: `not a stage of ${members.map((l) => `experiment ${l.experiment.name} (${stageNames(l).join(", ")})`).join(" or ")}` })
        )
      const reports: string[] = []
      for (const loaded of runs) reports.push(...(yield* sweepOne(loaded, until, { ...o, backend, redis })).reports)
      const secs = ((performance.now() - t0) / 1000).toFixed(1)
      if (reports.length) {
        yield* Console.log(`Report${reports.length > 1 ? "s" : ""} (${secs}s):`)
        for (const r of reports) yield* Console.log(`  ${r}`)
      } else yield* Console.log(`Stages through ${until} done (${secs}s).`)
    })
)

const verifyCmd = Command.make(
  "verify",
  {
    config: configOpt,
    set: setOpt,
    store: storeOpt,
    repair: Options.boolean("repair").pipe(Options.withDescription("move every broken artifact to <store>/.broken/ so that it is recomputed"))
  },
  (o) =>
    Effect.gen(function* () {
      const suite = Option.isNone(o.store) ? yield* Effect.try({ try: () => readSuite(o.config), catch: (e) => e as ParamsError }) : null
      const roots = yield* Option.match(o.store, {
        onSome: (s) => Effect.succeed([s]),
        onNone: () =>
          Effect.forEach(suite ? suite.members : [o.config], (m) =>
            Effect.map(loadConfig(m, o.set), (l) => defaultStore(l.experiment.configName(l.config)))
          )
      })
      for (const root of roots) {
        const { checked, problems } = yield* verifyStore(root, { repair: o.repair })
        for (const p of problems) yield* Console.log(`${p.file}: ${p.reason}${p.movedTo ? `; moved to ${p.movedTo}` : ""}`)
        yield* Console.log(`${root}: ${checked} artifact(s) checked, ${problems.length} broken${o.repair && problems.length ? " (moved aside; the next sweep recomputes them)" : ""}`)
        if (problems.length && !o.repair) process.exitCode = 1
      }
    })
)

const validateCmd = Command.make("validate", { config: configOpt, set: setOpt }, (o) =>
  Effect.gen(function* () {
    const suite = yield* Effect.try({ try: () => readSuite(o.config), catch: (e) => e as ParamsError })
    for (const m of suite ? suite.members : [o.config]) {
      const { experiment, config, file } = yield* loadConfig(m, o.set)
      yield* Console.log(`${file}: ok (experiment ${experiment.name}, ${experiment.configName(config)}, ${experiment.cells(config).length} cell(s))`)
    }
  })
)

const dumpCmd = Command.make(
  "dump",
  {
    model: Options.directory("model").pipe(Options.withDescription("local Hugging Face model directory")),
    ids: Options.file("ids").pipe(Options.withDescription("JSON: list of equal-length lists of token ids"), Options.optional),
    text: Options.text("text").pipe(Options.withDescription("a text, tokenized with the model's tokenizer.json"), Options.optional),
    out: Options.text("out").pipe(Options.withDescription("output .safetensors file")),
    hooks: Options.text("hooks").pipe(Options.withDescription("comma-separated hook names (default hook_embed and every blocks.{l}.hook_resid_post)"), Options.optional),
    streamed: Options.boolean("streamed").pipe(Options.withDescription("layer-streamed execution")),
    allowNonFinite: Options.boolean("allow-non-finite").pipe(Options.withDescription("write NaN / Inf outputs instead of failing at the first layer that produced them")),
    backend: backendOpt
  },
  (o) =>
    Effect.gen(function* () {
      const backend = yield* backendOf(o.backend)
      const { runDump } = yield* Effect.promise(() => import("./dump.js"))
      const line = yield* Effect.tryPromise({
        try: () => runDump({ model: o.model, ids: Option.getOrUndefined(o.ids), text: Option.getOrUndefined(o.text), out: o.out, hooks: Option.getOrUndefined(o.hooks), streamed: o.streamed, allowNonFinite: o.allowNonFinite, backend }),
        catch: (e) => e
      })
      yield* Console.log(line)
    })
)

const QUEUES = ["model", "cpu"] as const
const workerCmd = Command.make(
  "worker",
  {
    redis: redisOpt,
    store: Options.text("store").pipe(Options.withDescription("artifact store shared with the producer (default: the sweep's, .conceptscope/store/<config name>, or $CONCEPTSCOPE_STORE)"), Options.optional),
    queues: Options.text("queues").pipe(Options.withDescription("comma-separated stage kinds to take: model (stages that run a model), cpu (the rest)"), Options.withDefault("model,cpu")),
    concurrency: Options.integer("concurrency").pipe(Options.withDescription("jobs at once per queue, each on its own thread"), Options.withDefault(1)),
    backend: backendOpt,
    lockMs: Options.integer("lock-ms").pipe(Options.withDescription("job lock: a dead worker's job runs again on another after about this long"), Options.withDefault(30000)),
    name: Options.text("name").pipe(Options.withDescription("this worker's name in `status` (default host:pid)"), Options.optional)
  },
  (o) =>
    Effect.gen(function* () {
      const redis = yield* redisOf(o.redis)
      const backend = yield* backendOf(o.backend)
      const queues = o.queues.split(",").map((q) => q.trim())
      const bad = queues.find((q) => !(QUEUES as readonly string[]).includes(q))
      if (bad !== undefined || queues.length === 0) return yield* Effect.fail(new ParamsError({ file: "--queues", field: bad ?? "(empty)", reason: `not a queue (${QUEUES.join(", ")})` }))
      if (o.concurrency < 1) return yield* Effect.fail(new ParamsError({ file: "--concurrency", field: String(o.concurrency), reason: "at least 1 job at a time" }))
      if (o.lockMs < 1000) return yield* Effect.fail(new ParamsError({ file: "--lock-ms", field: String(o.lockMs), reason: "at least 1000 ms" }))
      const { runWorker, defaultWorkerName } = yield* Effect.promise(() => import("./queue/worker.js"))
      const name = Option.getOrElse(o.name, defaultWorkerName)
      yield* runWorker({ redis, store: Option.getOrNull(o.store), queues: queues as (typeof QUEUES)[number][], concurrency: o.concurrency, backend, lockMs: o.lockMs, name, entry: fileURLToPath(import.meta.url) })
    })
)

const statusCmd = Command.make("status", { redis: redisOpt }, (o) =>
  Effect.gen(function* () {
    const redis = yield* redisOf(o.redis)
    const { queueStatus } = yield* Effect.promise(() => import("./queue/status.js"))
    for (const line of yield* queueStatus(redis)) yield* Console.log(line)
  })
)

const cli = Command.run(Command.make("conceptscope").pipe(Command.withSubcommands([sweepCmd, validateCmd, verifyCmd, dumpCmd, workerCmd, statusCmd])), {
  name: "conceptscope",
  version: "0.1.0"
})

/** ANSI colour codes (ESC [ ... m). */
const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g")

/** The first line of a help document, as plain text. */
const firstLine = (doc: HelpDoc.HelpDoc) =>
  HelpDoc.toAnsiText(doc)
    .replace(ANSI_ESCAPE, "")
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.length > 0) ?? "invalid arguments"

/**
 * One clear line on failure (file, field, reason), exit code 1; the store is untouched by failed stages.
 * @effect/cli prints its own argument errors over several lines: they are silenced and printed here as
 * one line like every other error.
 */
const program = Console.consoleWith((console) => Effect.suspend(() => cli(process.argv)).pipe(Console.withConsole({ ...console, error: () => Effect.void }))).pipe(
  Effect.provide(NodeContext.layer),
  Effect.exit,
  Effect.flatMap((exit) =>
    Effect.sync(() => {
      if (Exit.isSuccess(exit)) return
      const failure = Cause.failureOption(exit.cause)
      const err = Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
      if (ValidationError.isValidationError(err)) {
        if (ValidationError.isHelpRequested(err)) return
        process.stderr.write(`error: ${firstLine(err.error)}\n`)
        process.exitCode = 1
        return
      }
      const msg = err instanceof Error ? err.message : String(err)
      process.stderr.write(`error: ${msg.split("\n")[0]}\n`)
      if (process.env.CONCEPTSCOPE_DEBUG) process.stderr.write(Cause.pretty(exit.cause) + "\n")
      process.exitCode = 1
    })
  )
)

// a worker thread of `conceptscope worker` (queue/thread-pool.ts) runs stage jobs, not the CLI
if (!isMainThread && (workerData as { role?: string } | null)?.role === "conceptscope-stage-thread") await import("./queue/stage-thread.js")
else NodeRuntime.runMain(program, { disableErrorReporting: true })
