/**
 * A small word-level tokenizer built from a corpus, written in Hugging Face's `tokenizer.json` format
 * (a WordPiece model), so that @huggingface/tokenizers here and `transformers` elsewhere load it like any
 * checkpoint's. The embedded LM of the LLM half uses it.
 *
 * - pre-tokenization: `Whitespace` (runs of word characters, runs of other non-space characters), then
 *   `Digits` with individual digits, so numbers (the bitwise task's operands) are read digit by digit;
 *   whitespace itself is not a token (the decoder puts single spaces between words);
 * - vocabulary: the special tokens, then every single character of the corpus and its "##" continuation
 *   (so no text that uses only the corpus's characters is ever unknown), then the `vocabSize` most frequent
 *   words (ties by first appearance, so the build is deterministic);
 * - post-processing: BOS (`<s>`) before every sequence encoded with special tokens, as Llama's tokenizer does.
 */
export interface BuiltTokenizer {
  /** tokenizer.json */
  readonly tokenizer: Record<string, unknown>
  /** tokenizer_config.json */
  readonly config: Record<string, unknown>
  readonly vocab: ReadonlyMap<string, number>
  readonly bosId: number
  readonly eosId: number
  readonly padId: number
}

export const SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<unk>"] as const

/** The pre-tokenizer's split of a text (the same regexes as Whitespace + individual Digits). */
export function preTokenize(text: string): string[] {
  return (text.match(/\w+|[^\w\s]+/gu) ?? []).flatMap((w) => w.match(/\d|[^\d]+/gu) ?? [])
}

export function buildTokenizer(texts: Iterable<string>, opts: { readonly vocabSize: number }): BuiltTokenizer {
  const counts = new Map<string, number>()
  const chars = new Set<string>()
  for (const text of texts)
    for (const w of preTokenize(text)) {
      counts.set(w, (counts.get(w) ?? 0) + 1)
      for (const c of w) chars.add(c)
    }
  const vocab = new Map<string, number>()
  const add = (t: string) => {
    if (!vocab.has(t)) vocab.set(t, vocab.size)
  }
  SPECIAL_TOKENS.forEach(add)
  const sortedChars = [...chars].sort()
  sortedChars.forEach(add)
  sortedChars.forEach((c) => add(`##${c}`))
  const words = [...counts.entries()].filter(([w]) => [...w].length > 1).sort((a, b) => b[1] - a[1]) // stable: ties keep first appearance
  for (const [w] of words.slice(0, Math.max(0, opts.vocabSize))) add(w)
  const id = (t: string) => vocab.get(t)!
  const special = (t: string) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map(special),
    normalizer: null,
    pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Whitespace" }, { type: "Digits", individual_digits: true }] },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [id("<s>")], tokens: ["<s>"] } }
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: false },
    model: { type: "WordPiece", unk_token: "<unk>", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab) }
  }
  const config = { tokenizer_class: "PreTrainedTokenizerFast", bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>", pad_token: "<pad>", add_bos_token: true, model_max_length: 4096 }
  return { tokenizer, config, vocab, bosId: id("<s>"), eosId: id("</s>"), padId: id("<pad>") }
}
