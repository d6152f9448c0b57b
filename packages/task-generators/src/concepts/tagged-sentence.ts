/**
 * A sentence with a part-of-speech tag per word, as the corpus readers return it.
 * `fine` holds the fine-grained tags (Penn Treebank tags: the XPOS column of CoNLL-U, the tags of a PTB
 * file); `universal` the UPOS tags where the corpus has them (CoNLL-U), else null.
 */
export interface TaggedSentence {
  /** Where it came from: the CoNLL-U `sent_id`, or `<file>#<n>` for PTB files. */
  readonly id: string
  readonly words: readonly string[]
  readonly fine: readonly string[]
  readonly universal: readonly string[] | null
}
