import { datasetStage } from "./shared/dataset-stage.js"

/** The probe set: the same number of sequences of every basis, whose residual streams TD is read from. */
export const probesetStage = datasetStage("probeset")
