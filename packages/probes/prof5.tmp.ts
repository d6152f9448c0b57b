import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import { benchTD } from "./src/index"
await tf.setBackend("wasm"); await tf.ready()
const r: number[] = []
for (let i = 0; i < 5; i++) r.push(Math.round(benchTD()))
console.log("benchTD ms", r.join(" "))
