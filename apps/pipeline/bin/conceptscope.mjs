#!/usr/bin/env node
// Launcher: load the TypeScript CLI in this process through tsx's loader, so `npx conceptscope ...`
// works without a build step and signals reach the process doing the work.
import { register } from "tsx/esm/api"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

register()
await import(pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "..", "src", "main.ts")).href)
