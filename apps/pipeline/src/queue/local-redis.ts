import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

/**
 * A Redis server for tests and benchmarks: Debian's redis-server on a free loopback port with its own
 * temporary directory, no persistence, maxmemory-policy noeviction (what BullMQ needs).
 * CONCEPTSCOPE_SKIP_REDIS=1 skips the suites that need one; otherwise a missing redis-server fails them
 * with what to install.
 */
export const redisWanted = (): boolean => process.env.CONCEPTSCOPE_SKIP_REDIS !== "1"

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })

export interface LocalRedis {
  readonly url: string
  readonly cli: (...args: string[]) => string
  readonly stop: () => Promise<void>
}

export async function startRedis(): Promise<LocalRedis> {
  if (spawnSync("redis-server", ["--version"]).error) throw new Error("redis-server is not installed: apt-get install redis-server (or CONCEPTSCOPE_SKIP_REDIS=1)")
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cs-redis-"))
  const port = await freePort()
  const child: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"], { stdio: "ignore" })
  const cli = (...args: string[]) => spawnSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8" }).stdout.trim()
  for (let i = 0; i < 100 && cli("ping") !== "PONG"; i++) await new Promise((r) => setTimeout(r, 50))
  if (cli("ping") !== "PONG") throw new Error(`redis-server did not answer on port ${port}`)
  return {
    url: `redis://127.0.0.1:${port}`,
    cli,
    stop: async () => {
      child.kill("SIGTERM")
      await new Promise((r) => child.once("exit", r))
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
