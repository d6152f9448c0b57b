/**
 * @conceptscope/task-generators: synthetic sparse linear regression mixtures and reference
 * in-context learners (solvers) for error-vs-K curves.
 */
export { InvalidRequest, InvalidTaskParams, SolverError } from "./errors.js"
export {
  RegressionTaskParamsFields,
  RegressionTaskParamsSchema,
  FamilySchema,
  WeightPoolSchema,
  assertBasisTask,
  type Family,
  decodeTaskParams,
  makeTaskParams,
  studyOverlappingDefaults,
  studyTaskDefaults,
  validateTaskParams,
  type Layout,
  type RegressionTaskParams,
  type WeightPool
} from "./params.js"
export { basisGroups, basisMasks, basisSupports } from "./masks.js"
export {
  makeBatchSampler,
  sampleSequences,
  weightPool,
  type BatchSampler,
  type RegressionBatch,
  type SampleOptions
} from "./sampling.js"
export { fromRows, toRows, type RegressionRows, type RowColumn } from "./rows.js"
export type { LassoOptions } from "./lasso.js"
export {
  lasso,
  leastSquares,
  oracle,
  zero,
  type LassoSolver,
  type LassoSolverOptions,
  type Solver
} from "./solvers.js"
export {
  errorCurves,
  scorePredictions,
  solverPredictions,
  type ErrorCurveOptions,
  type ErrorCurvePoint
} from "./curves.js"
export { bayesOptimal, bayesOracle } from "./bayes.js"
export { drawFamilyWeight, familyValue } from "./families.js"
export { CorpusParseError } from "./errors.js"
export * from "./concepts/index.js"
