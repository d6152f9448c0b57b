import { Rng } from "@conceptscope/core"
import { InvalidTaskParams } from "../errors.js"
import { type ConceptExample, type ConceptFamily, NULL_CONCEPT, splitSampler } from "./family.js"

/** The study's six bitwise operators, in its order. */
export const BITWISE_CONCEPTS = ["AND", "NAND", "OR", "NOR", "XOR", "XNOR"] as const
export type BitwiseConcept = (typeof BITWISE_CONCEPTS)[number]

/** z(a, b) on `width`-bit unsigned integers. */
export function bitwiseOp(op: BitwiseConcept, a: number, b: number, width: number): number {
  const mask = (1 << width) - 1
  switch (op) {
    case "AND":
      return a & b
    case "NAND":
      return ~(a & b) & mask
    case "OR":
      return (a | b) & mask
    case "NOR":
      return ~(a | b) & mask
    case "XOR":
      return (a ^ b) & mask
    case "XNOR":
      return ~(a ^ b) & mask
  }
}

/** `x` as `width` binary digits, most significant first. */
export const toBits = (x: number, width: number) => x.toString(2).padStart(width, "0")

export interface BitwiseOptions {
  /** Bits per number (study: 5). */
  readonly width: number
  /** Fraction of the (a, b) pairs held out for queries (study: 500 evaluation samples). */
  readonly testFraction: number
  /** Seed of the train/test split of the pairs. */
  readonly splitSeed: number
}

/**
 * Bitwise arithmetic: input "a b" (two `width`-bit binary numbers), output z(a, b) in binary. The 2^(2w)
 * pairs (a, b) are split once, by `splitSeed`, into demonstration and query pairs. Null: random bits.
 */
export function bitwiseFamily(opts: BitwiseOptions): ConceptFamily {
  const { width, testFraction, splitSeed } = opts
  if (!Number.isInteger(width) || width < 1 || width > 12) throw new InvalidTaskParams({ field: "bitwise.width", reason: "must be an integer in 1..12", value: width })
  const labels = [...BITWISE_CONCEPTS, NULL_CONCEPT]
  const pairs = Array.from({ length: 1 << (2 * width) }, (_, p) => p)
  const { testSize, draw } = splitSampler("bitwise", labels, pairs, testFraction, new Rng(splitSeed).fork("bitwise-split"), "pairs")
  return {
    name: "bitwise",
    labels,
    testSize,
    examples: (label, split, n, rng) =>
      draw(label, split, n, rng).map((p): ConceptExample => {
        const a = p >>> width
        const b = p & ((1 << width) - 1)
        const c = label === NULL_CONCEPT ? rng.int(1 << width) : bitwiseOp(label as BitwiseConcept, a, b, width)
        return { input: `${toBits(a, width)} ${toBits(b, width)}`, output: toBits(c, width) }
      })
  }
}
