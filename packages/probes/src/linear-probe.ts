import * as tf from "@tensorflow/tfjs"
import { Rng } from "@conceptscope/core"
import { checkLabelled, checkPositiveInt, checkRange, fail } from "./validate.js"

export interface LinearProbeOptions {
  /** Seed of the stratified train/test split (and of the power-iteration start vector). */
  readonly seed: number
  /** Fraction of each class held out for testing (default 0.3). */
  readonly testFraction?: number
  /** L2 penalty: objective = mean cross-entropy + (l2 / 2) |W|^2, bias unpenalised (default 1e-3). */
  readonly l2?: number
  /** Full-batch accelerated gradient steps (default 300). */
  readonly steps?: number
  /**
   * "primal" iterates on W [d, C]; "dual" on A [n_train, C] with W = X^T A (same iterates, cheaper
   * when d > n_train); "auto" (default) picks dual exactly when d > n_train.
   */
  readonly solver?: "auto" | "primal" | "dual"
}

export interface LinearProbeResult {
  readonly trainAcc: number
  readonly testAcc: number
  /** Test accuracy per class; NaN for a class without test points. */
  readonly perClassTest: number[]
}

/**
 * Stratified split: each class's indices are shuffled by `rng` (classes in label order) and
 * round(testFraction * size) of them go to the test set, keeping at least one training point per
 * class. Returned index lists are sorted.
 */
export function stratifiedSplit(
  labels: Int32Array,
  nClasses: number,
  testFraction: number,
  rng: Rng
): { train: Int32Array; test: Int32Array } {
  const byClass: number[][] = Array.from({ length: nClasses }, () => [])
  labels.forEach((y, i) => byClass[y].push(i))
  const train: number[] = []
  const test: number[] = []
  for (const members of byClass) {
    const shuffled = rng.shuffle(members)
    const nTest = Math.min(Math.max(0, members.length - 1), Math.round(testFraction * members.length))
    test.push(...shuffled.slice(0, nTest))
    train.push(...shuffled.slice(nTest))
  }
  return { train: Int32Array.from(train).sort(), test: Int32Array.from(test).sort() }
}

/** Rows `idx` of X standardised with the given column mean and std (std 0 -> 1). */
function standardRows(X: Float32Array, d: number, idx: Int32Array, mean: Float64Array, std: Float64Array): Float32Array {
  const out = new Float32Array(idx.length * d) // [idx.length, d]
  idx.forEach((i, r) => {
    for (let m = 0; m < d; m++) out[r * d + m] = (X[i * d + m] - mean[m]) / std[m]
  })
  return out
}

/**
 * Linear probe: multinomial logistic regression (softmax, L2) on standardised features (train-set
 * mean and std), trained by full-batch Nesterov-accelerated gradient descent with step 1/L, where
 * L = max(lambda_max(X^T X / n), 1) / 2 + l2 bounds the curvature (Bohning's bound on the softmax
 * Hessian; lambda_max by power iteration). Weights start at zero. Gradients are written out
 * explicitly with pre-transposed matrices (no autodiff: the transposed matMul is slow on wasm); when
 * d > n_train the same iterates run in the dual (kernel) form, see `solver`.
 */
export function linearProbe(
  X: Float32Array, // [n, d] row-major
  labels: Int32Array, // [n]
  nClasses: number,
  opts: LinearProbeOptions
): LinearProbeResult {
  const fn = "linearProbe"
  const { d } = checkLabelled(fn, X, labels, nClasses)
  if (!Number.isFinite(opts?.seed)) fail(fn, "seed", `must be a number, got ${opts?.seed}`)
  const testFraction = checkRange(fn, "testFraction", opts.testFraction ?? 0.3, 0, 0.95)
  const l2 = checkRange(fn, "l2", opts.l2 ?? 1e-3, 0, Infinity)
  const steps = checkPositiveInt(fn, "steps", opts.steps ?? 300)
  const solver = opts.solver ?? "auto"
  if (!["auto", "primal", "dual"].includes(solver)) fail(fn, "solver", `must be "auto", "primal" or "dual", got ${solver}`)
  const rng = new Rng(opts.seed)
  const { train, test } = stratifiedSplit(labels, nClasses, testFraction, rng.fork("split"))
  const nTr = train.length

  const mean = new Float64Array(d) // [d]
  const std = new Float64Array(d) // [d]
  for (const i of train) for (let m = 0; m < d; m++) mean[m] += X[i * d + m]
  for (let m = 0; m < d; m++) mean[m] /= nTr
  for (const i of train) for (let m = 0; m < d; m++) std[m] += (X[i * d + m] - mean[m]) ** 2
  for (let m = 0; m < d; m++) std[m] = Math.sqrt(std[m] / nTr) || 1

  const trainLabels = Int32Array.from(train, (i) => labels[i])
  const testLabels = Int32Array.from(test, (i) => labels[i])
  const start = rng.fork("power").normals(Math.max(d, nTr)) // power-iteration start, first dim entries used

  const dual = solver === "dual" || (solver === "auto" && d > nTr)
  const xte = standardRows(X, d, test, mean, std) // [nTest, d]

  const { trainPred, testPred } = tf.tidy(() => {
    const xtr = tf.tensor2d(standardRows(X, d, train, mean, std), [nTr, d]) // [nTr, d]
    const xtrT = tf.transpose(xtr) // [d, nTr]
    const y = tf.oneHot(tf.tensor1d(trainLabels, "int32"), nClasses).toFloat() // [nTr, C]
    // logits = feats theta + b. Primal: feats = X [nTr, d], theta = W [d, C], gradient X^T G / n + l2 W.
    // Dual (d > nTr): W = X^T A stays in the row space from W = 0, so feats = K = X X^T [nTr, nTr],
    // theta = A [nTr, C] and the same step reads A <- A - lr (G / n + l2 A): identical iterates, cheaper.
    const feats = dual ? tf.matMul(xtr, xtrT) : xtr // [nTr, nTr] or [nTr, d]
    const back = dual ? null : xtrT // [d, nTr]
    const dim = dual ? nTr : d

    // lambda_max(X^T X / n) = lambda_max(K / n), by power iteration.
    let v = tf.tensor2d(start.subarray(0, dim), [dim, 1]) // [dim, 1]
    let lambda = 0
    for (let it = 0; it < 30; it++) {
      const next = tf.tidy(() => tf.div(dual ? tf.matMul(feats, v) : tf.matMul(xtrT, tf.matMul(xtr, v)), nTr)) // [dim, 1]
      lambda = tf.norm(next).dataSync()[0]
      v.dispose()
      v = tf.div(next, Math.max(lambda, 1e-30)) as tf.Tensor2D
      next.dispose()
    }
    const lr = 1 / (Math.max(lambda * 1.05, 1) / 2 + l2)

    let theta = tf.zeros([dim, nClasses]) // [dim, C]
    let b = tf.zeros([1, nClasses]) // [1, C]
    let thetaPrev = theta.clone()
    let bPrev = b.clone()
    let t = 1
    for (let s = 0; s < steps; s++) {
      const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2
      const beta = (t - 1) / tNext
      t = tNext
      const [theta2, b2] = tf.tidy(() => {
        const vt = tf.add(theta, tf.mul(tf.sub(theta, thetaPrev), beta)) // [dim, C]
        const vb = tf.add(b, tf.mul(tf.sub(b, bPrev), beta)) // [1, C]
        const g = tf.sub(tf.softmax(tf.add(tf.matMul(feats, vt), vb)), y) // [nTr, C]
        const gt = tf.add(tf.div(back ? tf.matMul(back, g) : g, nTr), tf.mul(vt, l2)) // [dim, C]
        const gb = tf.mean(g, 0, true) // [1, C]
        return [tf.sub(vt, tf.mul(gt, lr)), tf.sub(vb, tf.mul(gb, lr))]
      })
      thetaPrev.dispose()
      bPrev.dispose()
      thetaPrev = theta
      bPrev = b
      theta = theta2
      b = b2
    }
    const predict = (f: tf.Tensor): Int32Array => tf.argMax(tf.add(tf.matMul(f, theta), b), 1).dataSync() as Int32Array
    const testFeats = (): tf.Tensor => {
      const x = tf.tensor2d(xte, [test.length, d]) // [nTest, d]
      return dual ? tf.matMul(x, xtrT) : x // [nTest, nTr] or [nTest, d]
    }
    return { trainPred: predict(feats), testPred: test.length === 0 ? new Int32Array(0) : predict(testFeats()) }
  })

  const acc = (pred: Int32Array, truth: Int32Array) => (truth.length === 0 ? NaN : pred.filter((p, i) => p === truth[i]).length / truth.length)
  const perClassTest = Array.from({ length: nClasses }, (_, c) => {
    let total = 0
    let right = 0
    testLabels.forEach((y, i) => {
      if (y === c) {
        total += 1
        if (testPred[i] === c) right += 1
      }
    })
    return total > 0 ? right / total : NaN
  })
  return { trainAcc: acc(trainPred, trainLabels), testAcc: acc(testPred, testLabels), perClassTest }
}
