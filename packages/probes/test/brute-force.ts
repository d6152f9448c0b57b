/**
 * Plain double-loop reference for leave-one-out kNN, written independently of src/: full sort of
 * all other points by (distance, index), then the tie rule spelled out step by step.
 */
export type Metric = "euclidean" | "cosine"

export function bruteDistance(X: Float32Array, d: number, i: number, j: number, metric: Metric): number {
  if (metric === "euclidean") {
    let s = 0
    for (let m = 0; m < d; m++) {
      const t = X[i * d + m] - X[j * d + m]
      s += t * t
    }
    return Math.sqrt(s)
  }
  let ni = 0
  for (let m = 0; m < d; m++) ni += X[i * d + m] * X[i * d + m]
  let nj = 0
  for (let m = 0; m < d; m++) nj += X[j * d + m] * X[j * d + m]
  ni = Math.sqrt(ni)
  nj = Math.sqrt(nj)
  if (ni === 0 || nj === 0) return 1
  let dot = 0
  for (let m = 0; m < d; m++) dot += X[i * d + m] * X[j * d + m]
  return 1 - dot / (ni * nj)
}

/** Predictions for the points in `subset` (default all), neighbours drawn from `subset` only. */
export function bruteLOO(
  X: Float32Array,
  labels: Int32Array,
  nClasses: number,
  k: number,
  metric: Metric,
  subset?: number[]
): Map<number, number> {
  const d = X.length / labels.length
  const pts = subset ?? Array.from(labels, (_, i) => i)
  const out = new Map<number, number>()
  for (const i of pts) {
    const others = pts.filter((j) => j !== i).map((j) => ({ j, dist: bruteDistance(X, d, i, j, metric) }))
    others.sort((a, b) => (a.dist < b.dist ? -1 : a.dist > b.dist ? 1 : a.j - b.j))
    const voters = others.slice(0, Math.min(k, others.length))
    const count: number[] = new Array(nClasses).fill(0)
    const sum: number[] = new Array(nClasses).fill(0)
    for (const v of voters) {
      count[labels[v.j]]++
      sum[labels[v.j]] += v.dist
    }
    const top = Math.max(...count)
    let tied = count.map((c, cls) => (c === top ? cls : -1)).filter((cls) => cls >= 0)
    const least = Math.min(...tied.map((cls) => sum[cls]))
    tied = tied.filter((cls) => sum[cls] === least)
    out.set(i, Math.min(...tied))
  }
  return out
}

export function bruteTD(X: Float32Array, labels: Int32Array, nClasses: number, k: number, metric: Metric) {
  const pred = bruteLOO(X, labels, nClasses, k, metric)
  const right = new Array(nClasses).fill(0)
  const total = new Array(nClasses).fill(0)
  pred.forEach((p, i) => {
    total[labels[i]]++
    if (p === labels[i]) right[labels[i]]++
  })
  const perClass = total.map((t, c) => (t > 0 ? right[c] / t : NaN))
  const present = perClass.filter((v) => !Number.isNaN(v))
  return { predictions: Int32Array.from(labels, (_, i) => pred.get(i)!), perClass, td: present.reduce((a, b) => a + b, 0) / present.length }
}

export function brutePairwise(X: Float32Array, labels: Int32Array, nClasses: number, k: number, metric: Metric): number[][] {
  const M = Array.from({ length: nClasses }, () => new Array(nClasses).fill(1))
  for (let a = 0; a < nClasses; a++) {
    for (let b = a + 1; b < nClasses; b++) {
      const subset = Array.from(labels, (_, i) => i).filter((i) => labels[i] === a || labels[i] === b)
      const pred = bruteLOO(X, labels, nClasses, k, metric, subset)
      const acc = (c: number) => {
        const members = subset.filter((i) => labels[i] === c)
        return members.filter((i) => pred.get(i) === c).length / members.length
      }
      M[a][b] = M[b][a] = (acc(a) + acc(b)) / 2
    }
  }
  return M
}
