/**
 * Seeded randomness for the tiny checkpoints: every tensor draws from its own sfc32 stream, keyed by
 * (seed, tensor name), so a tensor's values do not depend on the order tensors are written in, on the
 * shard layout or on the dtype. Same seed -> same bits on every V8 (Math.log/cos/sin are fdlibm ports).
 */

/** cyrb128: 128-bit string hash; four uint32 words to seed sfc32 with. */
export function hash128(text: string): [number, number, number, number] {
  let h1 = 0x6a09e667
  let h2 = 0xbb67ae85
  let h3 = 0x3c6ef372
  let h4 = 0xa54ff53a
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i)
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067)
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233)
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213)
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179)
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067)
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233)
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213)
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179)
  h1 ^= h2 ^ h3 ^ h4
  h2 ^= h1
  h3 ^= h1
  h4 ^= h1
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0]
}

/** sfc32 (Small Fast Counting, 128-bit state): returns a generator of uint32 values. */
export function sfc32(seed: readonly [number, number, number, number]): () => number {
  let [a, b, c, d] = seed
  const next = (): number => {
    a |= 0
    b |= 0
    c |= 0
    d |= 0
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return t >>> 0
  }
  for (let i = 0; i < 15; i++) next() // mix the hashed state
  return next
}

/** The stream of one tensor. */
export function streamFor(seed: number, label: string): () => number {
  return sfc32(hash128(`${seed >>> 0}:${label}`))
}

const TWO_POW_32 = 4294967296

/** out[i] = mean + std * N(0, 1), Box-Muller on pairs of uint32 draws. */
export function fillNormal(out: Float32Array, seed: number, label: string, mean: number, std: number): Float32Array {
  const next = streamFor(seed, label)
  const n = out.length
  for (let i = 0; i < n; i += 2) {
    const u1 = (next() + 1) / TWO_POW_32 // (0, 1]: log is finite
    const u2 = next() / TWO_POW_32 // [0, 1)
    const r = Math.sqrt(-2 * Math.log(u1))
    const phi = 2 * Math.PI * u2
    out[i] = mean + std * r * Math.cos(phi)
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(phi)
  }
  return out
}
