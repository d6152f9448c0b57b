import { note } from "@conceptscope/core"
import { Data, Effect } from "effect"
import { Redis } from "ioredis"

/** Redis cannot be reached, or is set up so that it could lose jobs. */
export class RedisError extends Data.TaggedError("RedisError")<{ readonly url: string; readonly reason: string }> {
  override get message() {
    return `--redis ${this.url}: ${this.reason}`
  }
}

/**
 * A Redis client for BullMQ's queues, flow producers and workers (which need maxRetriesPerRequest null).
 * BullMQ gets the client itself rather than connection options, so it never has to resolve ioredis from
 * its own directory; BullMQ leaves a client it was given open, so the caller quits it.
 */
export const redisClient = (url: string): Redis => {
  const client = new Redis(url, { maxRetriesPerRequest: null })
  client.on("error", () => undefined) // ioredis reconnects; the commands that fail meanwhile report it
  return client
}

const reasonOf = (e: unknown) => (e instanceof Error ? e.message.split("\n")[0] : String(e))

/**
 * Connect once and check the settings a job queue needs: `maxmemory-policy noeviction` (any other policy
 * lets Redis drop queue keys under memory pressure, and BullMQ with them), and persistence (RDB or AOF;
 * without it a Redis restart forgets the queue: the store keeps every committed artifact, and running
 * the sweep again re-enqueues the rest). A server that refuses CONFIG (some managed services) is noted
 * and trusted. Returns the server's version.
 */
export const checkRedis = (url: string) =>
  Effect.gen(function* () {
    if (!/^rediss?:\/\//.test(url)) return yield* Effect.fail(new RedisError({ url, reason: "not a redis:// or rediss:// URL" }))
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: () => null })
    client.on("error", () => undefined) // reported through the failed command below
    return yield* Effect.acquireUseRelease(
      Effect.tryPromise({ try: () => client.connect(), catch: (e) => new RedisError({ url, reason: `cannot connect (${reasonOf(e)})` }) }),
      () =>
        Effect.tryPromise({
          try: async () => {
            const info = await client.info("server")
            const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown"
            let policy: string | null = null
            let persistence: string | null = null
            try {
              policy = ((await client.config("GET", "maxmemory-policy")) as string[])[1] ?? null
              const save = ((await client.config("GET", "save")) as string[])[1] ?? ""
              const aof = ((await client.config("GET", "appendonly")) as string[])[1] ?? "no"
              persistence = [save.trim() !== "" ? `RDB (save ${save})` : "", aof === "yes" ? "AOF" : ""].filter((s) => s !== "").join(" + ")
            } catch (e) {
              note("redis", `${url}: CONFIG refused (${reasonOf(e)}); maxmemory-policy and persistence not checked`)
            }
            if (policy !== null && policy !== "noeviction")
              throw new RedisError({ url, reason: `maxmemory-policy is ${policy}; a job queue needs noeviction (redis-cli CONFIG SET maxmemory-policy noeviction, and in redis.conf)` })
            if (persistence === "") note("redis", `${url}: no persistence (neither RDB nor AOF): a Redis restart forgets the queue; the store keeps every committed artifact`)
            return version
          },
          catch: (e) => (e instanceof RedisError ? e : new RedisError({ url, reason: reasonOf(e) }))
        }),
      () => Effect.promise(() => client.quit().catch(() => undefined))
    )
  })
