/** @conceptscope/core: the shared vocabulary (seeded RNG, hook names, interventions as data, progress lines, config overrides). */
export { Rng, hashString } from "./rng.js"
export {
  HookNameSchema,
  InterventionSchema,
  parseHook,
  residPost,
  type HookName,
  type Intervention,
  type ParsedHook
} from "./hooks.js"
export { note, progress, type Progress } from "./progress.js"
export { applyOverrides, OverrideError } from "./overrides.js"
export { crashPoint } from "./crash-points.js"
export { JsonSafeNumber } from "./json-number.js"
