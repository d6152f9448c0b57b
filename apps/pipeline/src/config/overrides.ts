import { ParamsError } from "@conceptscope/artifacts"
import { applyOverrides as apply, OverrideError } from "@conceptscope/core"

/** `--set key.path=value` overrides on a parsed config (see core's applyOverrides); a bad one is a ParamsError naming it. */
export function applyOverrides(raw: unknown, overrides: readonly string[]): unknown {
  try {
    return apply(raw, overrides)
  } catch (e) {
    if (e instanceof OverrideError) throw new ParamsError({ file: "--set", field: e.field, reason: e.reason })
    throw e
  }
}
