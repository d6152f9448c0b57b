/**
 * Which coordinates each basis (latent concept) uses.
 *
 * disjoint: basis b owns coordinates [b*r, (b+1)*r). Coordinates past nBases*r are never used.
 *
 * overlapping: the D coordinates are cut into `groups` contiguous groups of g = D / groups
 * coordinates; group q holds bases q*m .. q*m + m - 1 (m = nBases / groups). Within group q, the
 * j-th basis is the cyclic window of r coordinates starting at offset j * s, with stride
 * s = floor(g / m):
 *     coords(q*m + j) = { q*g + ((j*s + t) mod g) : t = 0..r-1 }.
 * Starts j*s < g are distinct and r < g, so the windows are distinct. The study's variant
 * (D = 16, 8 bases, r = 4, 2 groups) gives windows of stride 2 in each group of 8:
 *     basis 0: {0,1,2,3}, 1: {2,3,4,5}, 2: {4,5,6,7}, 3: {6,7,0,1}, and 4-7 the same shifted by 8,
 * so each coordinate belongs to exactly two bases of its group. (The paper only says "bases 1-4
 * live in dims 1-8"; this construction is our choice.)
 */
import type { RegressionTaskParams } from "./params.js"

/** Sorted coordinate indices of each basis. */
export function basisSupports(params: RegressionTaskParams): Int32Array /* [nBases, rank] */ {
  const { dim, nBases, rank: r, layout, groups } = params
  const out = new Int32Array(nBases * r)
  if (layout === "disjoint") {
    for (let b = 0; b < nBases; b++) for (let t = 0; t < r; t++) out[b * r + t] = b * r + t
    return out
  }
  const g = dim / groups
  const m = nBases / groups
  const stride = Math.floor(g / m)
  for (let q = 0; q < groups; q++) {
    for (let j = 0; j < m; j++) {
      const b = q * m + j
      const coords: number[] = []
      for (let t = 0; t < r; t++) coords.push(q * g + ((j * stride + t) % g))
      coords.sort((u, v) => u - v)
      for (let t = 0; t < r; t++) out[b * r + t] = coords[t]
    }
  }
  return out
}

/** 0/1 mask of each basis over the coordinates. */
export function basisMasks(params: RegressionTaskParams): Uint8Array /* [nBases, dim] */ {
  const { dim, nBases, rank: r } = params
  const sup = basisSupports(params) // [nBases, r]
  const out = new Uint8Array(nBases * dim)
  for (let b = 0; b < nBases; b++) for (let t = 0; t < r; t++) out[b * dim + sup[b * r + t]] = 1
  return out
}

/** The group of each basis (overlapping layout); in the disjoint layout every basis is its own group. */
export function basisGroups(params: RegressionTaskParams): Int32Array /* [nBases] */ {
  const out = new Int32Array(params.nBases)
  const m = params.layout === "overlapping" ? params.nBases / params.groups : 1
  for (let b = 0; b < params.nBases; b++) out[b] = Math.floor(b / m)
  return out
}
