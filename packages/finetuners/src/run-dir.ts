import { crashPoint } from "@conceptscope/core"
import * as fs from "node:fs"
import * as path from "node:path"
import { ResumeError } from "./errors.js"

/**
 * The directory of a resumable training run, the one resume path of this package:
 *
 *   checkpoints/step-NNNNNNNN.safetensors   the weights kept at each checkpoint step
 *   state/step-NNNNNNNN/weights.safetensors  resumable state (weights + optimizer) of one step
 *   state/step-NNNNNNNN/optimizer.safetensors
 *   state/step.json                          the last state saved completely, and the checkpoints that
 *                                            belong to it: { step, checkpoints: [{ step, file, size }] }
 *
 * Every file is written to a temporary name and renamed; a state directory and the checkpoints are
 * complete before `step.json` names them, and only then are older state directories removed. So a run
 * killed at any moment resumes from the last complete state, and whatever the kill left (temporary
 * files, a state directory or checkpoint that `step.json` does not name, a file whose size differs from
 * the one recorded) is removed when the run reopens; the resumed run writes those again, with the
 * same bytes.
 */
export interface RunCheckpoint {
  readonly step: number
  /** absolute path */
  readonly file: string
  readonly size: number
}

interface Pointer {
  readonly step: number
  readonly checkpoints: readonly { readonly step: number; readonly file: string; readonly size: number }[]
}

export class RunDir {
  readonly checkpointDir: string
  readonly stateDir: string
  private readonly pointer: string

  constructor(readonly dir: string) {
    this.checkpointDir = path.join(dir, "checkpoints")
    this.stateDir = path.join(dir, "state")
    this.pointer = path.join(this.stateDir, "step.json")
  }

  static stepName = (step: number) => `step-${String(step).padStart(8, "0")}`

  checkpointPath(step: number): string {
    return path.join(this.checkpointDir, `${RunDir.stepName(step)}.safetensors`)
  }

  statePaths(step: number): { readonly dir: string; readonly weights: string; readonly optimizer: string } {
    const dir = path.join(this.stateDir, RunDir.stepName(step))
    return { dir, weights: path.join(dir, "weights.safetensors"), optimizer: path.join(dir, "optimizer.safetensors") }
  }

  private read(): Pointer | null {
    if (!fs.existsSync(this.pointer)) return null
    let p: Pointer
    try {
      p = JSON.parse(fs.readFileSync(this.pointer, "utf8")) as Pointer
    } catch (e) {
      throw new ResumeError({ file: this.pointer, reason: `unreadable: ${(e as Error).message}` })
    }
    if (!Number.isInteger(p.step) || p.step < 0 || !Array.isArray(p.checkpoints))
      throw new ResumeError({ file: this.pointer, reason: `not a run state: ${JSON.stringify(p).slice(0, 80)}` })
    const s = this.statePaths(p.step)
    for (const f of [s.weights, s.optimizer]) if (!fs.existsSync(f)) throw new ResumeError({ file: f, reason: "missing, though state/step.json names it" })
    for (const c of p.checkpoints) {
      const file = path.join(this.checkpointDir, c.file)
      const size = fs.existsSync(file) ? fs.statSync(file).size : -1
      if (size !== c.size) throw new ResumeError({ file, reason: size < 0 ? "missing, though state/step.json names it" : `${size} bytes, state/step.json says ${c.size}` })
    }
    return p
  }

  /** The step of the last complete state, or null for a fresh run. */
  savedStep(): number | null {
    return this.read()?.step ?? null
  }

  /** The checkpoints that belong to the last complete state, by step. */
  checkpoints(): RunCheckpoint[] {
    return (this.read()?.checkpoints ?? []).map((c) => ({ step: c.step, file: path.join(this.checkpointDir, c.file), size: c.size }))
  }

  /**
   * Prepare the directory for a run that continues from `savedStep()` (or starts afresh at null): drop
   * every file that the last complete state does not name.
   */
  open(): number | null {
    fs.mkdirSync(this.checkpointDir, { recursive: true })
    fs.mkdirSync(this.stateDir, { recursive: true })
    const p = this.read()
    const named = new Set((p?.checkpoints ?? []).map((c) => c.file))
    for (const f of fs.readdirSync(this.checkpointDir)) if (!named.has(f)) fs.rmSync(path.join(this.checkpointDir, f), { force: true })
    const keep = p === null ? null : RunDir.stepName(p.step)
    for (const d of fs.readdirSync(this.stateDir)) if (d !== "step.json" && d !== keep) fs.rmSync(path.join(this.stateDir, d), { recursive: true, force: true })
    return p?.step ?? null
  }

  /**
   * Make the state of `step` (already written to statePaths(step)) the one to resume from, with every
   * complete checkpoint up to `step`.
   */
  commitState(step: number): void {
    const checkpoints = fs
      .readdirSync(this.checkpointDir)
      .flatMap((f) => {
        const m = /^step-(\d{8})\.safetensors$/.exec(f)
        return m && Number(m[1]) <= step ? [{ step: Number(m[1]), file: f, size: fs.statSync(path.join(this.checkpointDir, f)).size }] : []
      })
      .sort((a, b) => a.step - b.step)
    const tmp = `${this.pointer}.tmp-${process.pid}`
    fs.writeFileSync(tmp, JSON.stringify({ step, checkpoints } satisfies Pointer))
    crashPoint("rundir-before-pointer")
    fs.renameSync(tmp, this.pointer)
    const keep = RunDir.stepName(step)
    for (const d of fs.readdirSync(this.stateDir)) if (d.startsWith("step-") && d !== keep) fs.rmSync(path.join(this.stateDir, d), { recursive: true, force: true })
  }
}
