import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
await tf.setBackend("wasm"); await tf.ready()
function time(name: string, f: () => tf.Tensor, n = 20) {
  f().dispose()
  const ts: number[] = []
  for (let i = 0; i < n; i++) { const s = performance.now(); const r = f(); r.dataSync(); r.dispose(); ts.push(performance.now() - s) }
  ts.sort((a, b) => a - b)
  console.log(name.padEnd(40), "min", ts[0].toFixed(3), "med", ts[n >> 1].toFixed(3))
}
for (const [nb, m, k, p] of [[256, 20, 16, 20], [1024, 40, 32, 40]]) {
  const A = tf.randomNormal([nb, m, k]); const B = tf.randomNormal([nb, k, p])
  time(`bmm ${nb}x${m}x${k}x${p}`, () => tf.matMul(A, B))
  const img = tf.transpose(A, [1, 2, 0]).reshape([1, m, k, nb]) // [1, m, k, nb]
  const filt = tf.transpose(B, [1, 0, 2]).reshape([1, k, nb, p]) // [1, k, nb, p]
  time(`dwconv only`, () => tf.depthwiseConv2d(img as tf.Tensor4D, filt as tf.Tensor4D, 1, "valid"))
  time(`dwconv + 3 transposes`, () => tf.tidy(() => {
    const i2 = tf.transpose(A, [1, 2, 0]).reshape([1, m, k, nb]) as tf.Tensor4D
    const f2 = tf.transpose(B, [1, 0, 2]).reshape([1, k, nb, p]) as tf.Tensor4D
    const o = tf.depthwiseConv2d(i2, f2, 1, "valid") // [1, m, 1, nb*p]
    return tf.transpose(o.reshape([m, nb, p]), [1, 0, 2])
  }))
  const r1 = tf.matMul(A, B).dataSync()
  const r2 = tf.tidy(() => tf.transpose(tf.depthwiseConv2d(img as tf.Tensor4D, filt as tf.Tensor4D, 1, "valid").reshape([m, nb, p]), [1, 0, 2])).dataSync()
  let mx = 0; for (let i = 0; i < r1.length; i++) mx = Math.max(mx, Math.abs(r1[i] - r2[i])); console.log("maxdiff", mx)
}
