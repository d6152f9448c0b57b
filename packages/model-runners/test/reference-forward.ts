/**
 * An independent forward pass of the regression transformer in plain JS loops (float64), written from
 * the description in regression-transformer.ts, used to check the tfjs model. Returns preds [B][K] and
 * the residual stream after each block [L][B][T][d].
 */
import type { TensorData } from "@conceptscope/safetensors"

export interface RefConfig {
  nLayers: number
  dModel: number
  nHeads: number
  dMlp: number
  xDim: number
  tokenFormat: "y-scalar" | "xy-pair"
}

type W = ReadonlyMap<string, TensorData>

const get = (w: W, n: string) => {
  const t = w.get(n)
  if (!t) throw new Error(`missing ${n}`)
  return t.data
}

/** x [n] @ W [n, m] + b [m] */
function lin(x: number[], W: Float32Array, b: Float32Array, n: number, m: number): number[] {
  const out = new Array<number>(m).fill(0)
  for (let j = 0; j < m; j++) {
    let s = b[j]
    for (let i = 0; i < n; i++) s += x[i] * W[i * m + j]
    out[j] = s
  }
  return out
}

function ln(x: number[], w: Float32Array, b: Float32Array): number[] {
  const n = x.length
  const mean = x.reduce((a, v) => a + v, 0) / n
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / n
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * w[i] + b[i])
}

const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))

export function referenceForward(
  c: RefConfig,
  w: W,
  xs: Float32Array, // [B, K, D]
  ys: Float32Array, // [B, K]
  B: number,
  K: number
): { preds: number[][]; residPost: number[][][][] } {
  const D = c.xDim
  const d = c.dModel
  const H = c.nHeads
  const dh = d / H
  const T = 2 * K
  const preds: number[][] = []
  const residPost: number[][][][] = Array.from({ length: c.nLayers }, () => [])
  for (let b = 0; b < B; b++) {
    // tokens and embedding
    let h: number[][] = []
    for (let t = 0; t < T; t++) {
      const k = t >> 1
      const tok = new Array<number>(D + 1).fill(0)
      const x = Array.from(xs.subarray((b * K + k) * D, (b * K + k + 1) * D))
      const y = ys[b * K + k]
      if (t % 2 === 0) x.forEach((v, i) => (tok[i] = v))
      else if (c.tokenFormat === "y-scalar") tok[0] = y
      else {
        x.forEach((v, i) => (tok[i] = v))
        tok[D] = y
      }
      const e = lin(tok, get(w, "embed.W_E"), get(w, "embed.b_E"), D + 1, d)
      const pos = get(w, "pos_embed.W_pos")
      h.push(e.map((v, j) => v + pos[t * d + j]))
    }
    for (let l = 0; l < c.nLayers; l++) {
      const p = (n: string) => get(w, `blocks.${l}.${n}`)
      const a = h.map((r) => ln(r, p("ln1.w"), p("ln1.b")))
      const q = a.map((r) => lin(r, p("attn.W_Q"), p("attn.b_Q"), d, d))
      const kk = a.map((r) => lin(r, p("attn.W_K"), p("attn.b_K"), d, d))
      const v = a.map((r) => lin(r, p("attn.W_V"), p("attn.b_V"), d, d))
      const z: number[][] = Array.from({ length: T }, () => new Array<number>(d).fill(0))
      for (let hd = 0; hd < H; hd++) {
        for (let i = 0; i < T; i++) {
          const s: number[] = []
          for (let j = 0; j <= i; j++) {
            let dot = 0
            for (let e = 0; e < dh; e++) dot += q[i][hd * dh + e] * kk[j][hd * dh + e]
            s.push(dot / Math.sqrt(dh))
          }
          const mx = Math.max(...s)
          const ex = s.map((x) => Math.exp(x - mx))
          const tot = ex.reduce((x, y) => x + y, 0)
          for (let j = 0; j <= i; j++) for (let e = 0; e < dh; e++) z[i][hd * dh + e] += (ex[j] / tot) * v[j][hd * dh + e]
        }
      }
      h = h.map((r, i) => {
        const o = lin(z[i], p("attn.W_O"), p("attn.b_O"), d, d)
        return r.map((x, j) => x + o[j])
      })
      h = h.map((r) => {
        const m = ln(r, p("ln2.w"), p("ln2.b"))
        const hid = lin(m, p("mlp.W_in"), p("mlp.b_in"), d, c.dMlp).map(gelu)
        const o = lin(hid, p("mlp.W_out"), p("mlp.b_out"), c.dMlp, d)
        return r.map((x, j) => x + o[j])
      })
      residPost[l].push(h.map((r) => r.slice()))
    }
    const f = h.map((r) => ln(r, get(w, "ln_final.w"), get(w, "ln_final.b")))
    const row: number[] = []
    for (let k = 0; k < K; k++) row.push(lin(f[2 * k], get(w, "unembed.W_U"), get(w, "unembed.b_U"), d, 1)[0])
    preds.push(row)
  }
  return { preds, residPost }
}
