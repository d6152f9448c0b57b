/**
 * Batches of prompts for one forward pass each: prompts of the same token length share a batch, so the
 * token before the answer sits at the same position in every row (right padding pads only answers),
 * and no compute goes to padding a short prompt to a long one.
 */
export function batchesByLength(lengths: readonly number[], batchSize: number): number[][] /* prompt indices */ {
  const byLength = new Map<number, number[]>()
  lengths.forEach((n, i) => {
    const list = byLength.get(n)
    if (list) list.push(i)
    else byLength.set(n, [i])
  })
  const out: number[][] = []
  for (const n of [...byLength.keys()].sort((a, b) => a - b)) {
    const list = byLength.get(n)!
    for (let s = 0; s < list.length; s += batchSize) out.push(list.slice(s, s + batchSize))
  }
  return out
}
