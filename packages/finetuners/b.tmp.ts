import { benchTrainStep } from "./src/index"
import { quickModelConfig } from "@conceptscope/model-runners"
process.env.CONCEPTSCOPE_QUIET = "1"
const n = Number(process.argv[2] ?? 10)
for (let i = 0; i < 2; i++) console.log("quick b64", await benchTrainStep(quickModelConfig, 64, n))
