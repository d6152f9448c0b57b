import { datasetStage } from "./shared/dataset-stage.js"

/** The held-out evaluation set: training curves, patching sources and error-vs-k are scored on it. */
export const evalsetStage = datasetStage("evalset")
