import { Data } from "effect"

/** A figure's Vega-Lite spec could not be compiled or rendered to SVG / PNG. */
export class FigureRenderError extends Data.TaggedError("FigureRenderError")<{
  readonly figure: string
  readonly reason: string
}> {
  override get message() {
    return `figure ${this.figure}: ${this.reason}`
  }
}

/** A report file could not be written. */
export class ReportWriteError extends Data.TaggedError("ReportWriteError")<{
  readonly file: string
  readonly reason: string
}> {
  override get message() {
    return `${this.file}: ${this.reason}`
  }
}

/** summary.json (or a Summary value) does not match the Summary schema. */
export class SummaryDecodeError extends Data.TaggedError("SummaryDecodeError")<{
  readonly file: string
  readonly reason: string
}> {
  override get message() {
    return `${this.file}: ${this.reason}`
  }
}
