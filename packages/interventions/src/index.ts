/** @conceptscope/interventions: concept means (task vectors) and activation patching, as data over any runner. */
export { conceptMeans } from "./concept-means.js"
export {
  diagonalStats,
  patchInterventions,
  patchingMatrix,
  type PatchMode,
  type PatchRunner,
  type PatchScore,
  type PatchingMatrix,
  type PositionedMeans
} from "./patching.js"
