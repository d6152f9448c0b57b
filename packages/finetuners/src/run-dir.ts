import * as fs from "node:fs"
import * as path from "node:path"
import { ResumeError } from "./errors.js"

/**
 * The directory of a resumable training run, the one resume path of this package:
 *
 *   checkpoints/step-NNNNNNNN.safetensors   the weights kept at each checkpoint step
 *   state/step-NNNNNNNN/weights.safetensors  resumable state (weights + optimizer) of one step
 *   state/step-NNNNNNNN/optimizer.safetensors
 *   state/step.json                          { "step": N }: the last state that was saved completely
 *
 * Every file is written to a temporary name and renamed; a state directory is complete before
 * `step.json` points at it, and only then are older state directories removed. So a run killed at any
 * moment resumes from the last complete state, and whatever the kill left half written (temporary
 * files, a state directory `step.json` does not name, checkpoints after the resumed step, which the
 * resumed run writes again with the same bytes) is removed when the run reopens.
 */
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

  /** The step of the last complete state, or null for a fresh run. */
  savedStep(): number | null {
    if (!fs.existsSync(this.pointer)) return null
    let step: unknown
    try {
      step = (JSON.parse(fs.readFileSync(this.pointer, "utf8")) as { step?: unknown }).step
    } catch (e) {
      throw new ResumeError({ file: this.pointer, reason: `unreadable: ${(e as Error).message}` })
    }
    if (!Number.isInteger(step) || (step as number) < 0) throw new ResumeError({ file: this.pointer, reason: `step ${JSON.stringify(step)} is not a step` })
    const s = this.statePaths(step as number)
    for (const f of [s.weights, s.optimizer]) if (!fs.existsSync(f)) throw new ResumeError({ file: f, reason: "missing, though state/step.json names it" })
    return step as number
  }

  /**
   * Prepare the directory for a run that continues from `savedStep()` (or starts afresh at null):
   * drop every file a kill can have left behind after that point.
   */
  open(): number | null {
    fs.mkdirSync(this.checkpointDir, { recursive: true })
    fs.mkdirSync(this.stateDir, { recursive: true })
    const resume = this.savedStep()
    for (const f of fs.readdirSync(this.checkpointDir)) {
      const m = /^step-(\d{8})\.safetensors$/.exec(f)
      if (!m || resume === null || Number(m[1]) > resume) fs.rmSync(path.join(this.checkpointDir, f), { force: true })
    }
    const keep = resume === null ? null : RunDir.stepName(resume)
    for (const d of fs.readdirSync(this.stateDir)) if (d !== "step.json" && d !== keep) fs.rmSync(path.join(this.stateDir, d), { recursive: true, force: true })
    return resume
  }

  /** Make the state of `step` (already written to statePaths(step)) the one to resume from. */
  commitState(step: number): void {
    const tmp = `${this.pointer}.tmp-${process.pid}`
    fs.writeFileSync(tmp, JSON.stringify({ step }))
    fs.renameSync(tmp, this.pointer)
    const keep = RunDir.stepName(step)
    for (const d of fs.readdirSync(this.stateDir)) if (d.startsWith("step-") && d !== keep) fs.rmSync(path.join(this.stateDir, d), { recursive: true, force: true })
  }

  /** The checkpoints written so far, by step. */
  checkpoints(): { readonly step: number; readonly file: string }[] {
    return fs
      .readdirSync(this.checkpointDir)
      .flatMap((f) => {
        const m = /^step-(\d{8})\.safetensors$/.exec(f)
        return m ? [{ step: Number(m[1]), file: path.join(this.checkpointDir, f) }] : []
      })
      .sort((a, b) => a.step - b.step)
  }
}
