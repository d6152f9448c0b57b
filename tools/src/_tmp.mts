import * as tf from "@tensorflow/tfjs"
import { initBackend } from "@conceptscope/model-runners"
const info = await initBackend("auto"); console.log(info)
const E = tf.variable(tf.randomNormal([10, 4]))
const ids = tf.tensor1d([1, 2, 2, 5], "int32")
try { const g = tf.variableGrads(() => tf.sum(tf.gather(E, ids)) as tf.Scalar, [E]); console.log("gather grad ok", g.grads[E.name].arraySync()[2]) } catch (e) { console.log("gather grad fails:", String(e).slice(0, 200)) }
console.log((tf.engine() as any).isTapeOn())
