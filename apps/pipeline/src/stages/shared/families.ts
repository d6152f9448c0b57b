import { bitwiseFamily, type ConceptFamily, type PosMapping, posFamily, readCorpus } from "@conceptscope/task-generators"

/** What builds one concept family (the prompts stage's parameters for it). */
export interface FamilySource {
  readonly family: "pos" | "bitwise"
  readonly corpus: { readonly file: string | null; readonly sha256: string } | null
  readonly mapping: PosMapping
  readonly width: number
  readonly testFraction: number
  /** the split seed */
  readonly seed: number
}

/** The family and how many distinct queries its test split holds. */
export function conceptFamily(p: FamilySource): { family: ConceptFamily; testItems: number } {
  if (p.family === "bitwise") {
    const family = bitwiseFamily({ width: p.width, testFraction: p.testFraction, splitSeed: p.seed })
    return { family, testItems: Math.max(1, Math.round((1 << (2 * p.width)) * p.testFraction)) }
  }
  const sentences = readCorpus(p.corpus?.file ?? undefined)
  const family = posFamily(sentences, { mapping: p.mapping, testFraction: p.testFraction, splitSeed: p.seed })
  return { family, testItems: family.testSize }
}
