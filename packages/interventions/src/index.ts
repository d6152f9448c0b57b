/** @conceptscope/interventions: concept means (task vectors) and activation patching, as data over any runner. */
export { conceptMeans } from "./concept-means.js"
export { conceptSubspace, subspaceShift, withinConceptCovariance } from "./concept-subspace.js"
export {
  diagonalStats,
  patchInterventions,
  patchingMatrix,
  type PatchMode,
  type PatchRunner,
  type PatchScore,
  type PatchingMatrix,
  type PositionedMeans,
  type SourceRows
} from "./patching.js"
