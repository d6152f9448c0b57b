/**
 * A small byte-level BPE tokenizer per model family, in the tokenizers library's tokenizer.json format:
 * the 256 byte-level symbols (GPT-2's bytes_to_unicode, in GPT-2's order), a few merges (enough to turn
 * "Hello world" into [Hello, Ġworld]) and the family's special tokens at the ids the real vocabularies
 * give them relative to their ends (first for llama/mistral/gemma2, last for the others).
 * Families whose tokenizer adds a BOS (llama, llama3, mistral, gemma2) get a TemplateProcessing
 * post-processor "BOS $A"; the others (gpt2, qwen2, olmo) a plain ByteLevel one.
 */
import type { Arch } from "./configs.js"

export interface SpecialToken {
  readonly content: string
  readonly id: number
}

export interface TokenizerLayout {
  readonly vocab: Record<string, number> // byte symbols + merge results + specials
  readonly merges: readonly string[] // "a b", in rank order
  readonly specials: readonly SpecialToken[]
  readonly bos: SpecialToken | null
  readonly eos: SpecialToken
  readonly pad: SpecialToken | null
  readonly unk: SpecialToken | null
  readonly addBos: boolean
  readonly size: number // number of ids used; config vocab_size must be >= this
}

interface Family {
  readonly specials: readonly string[]
  readonly first: boolean // specials take ids 0.. (else they follow the merges)
  readonly bos: string | null
  readonly eos: string
  readonly pad: string | null
  readonly unk: string | null
  readonly addBos: boolean
  readonly split: "gpt2" | "llama3" | "qwen2" // pre-tokenizer regex
}

const FAMILIES: Record<Arch, Family> = {
  llama: { specials: ["<unk>", "<s>", "</s>"], first: true, bos: "<s>", eos: "</s>", pad: null, unk: "<unk>", addBos: true, split: "gpt2" },
  mistral: { specials: ["<unk>", "<s>", "</s>"], first: true, bos: "<s>", eos: "</s>", pad: null, unk: "<unk>", addBos: true, split: "gpt2" },
  llama3: {
    specials: ["<|begin_of_text|>", "<|end_of_text|>"],
    first: false,
    bos: "<|begin_of_text|>",
    eos: "<|end_of_text|>",
    pad: null,
    unk: null,
    addBos: true,
    split: "llama3"
  },
  gemma2: { specials: ["<pad>", "<eos>", "<bos>", "<unk>"], first: true, bos: "<bos>", eos: "<eos>", pad: "<pad>", unk: "<unk>", addBos: true, split: "gpt2" },
  qwen2: { specials: ["<|endoftext|>"], first: false, bos: null, eos: "<|endoftext|>", pad: "<|endoftext|>", unk: null, addBos: false, split: "qwen2" },
  olmo: { specials: ["<|endoftext|>", "<|padding|>"], first: false, bos: null, eos: "<|endoftext|>", pad: "<|padding|>", unk: null, addBos: false, split: "gpt2" },
  gpt2: { specials: ["<|endoftext|>"], first: false, bos: "<|endoftext|>", eos: "<|endoftext|>", pad: null, unk: "<|endoftext|>", addBos: false, split: "gpt2" }
}

/** Merges in rank order; Ġ is the byte-level space. */
const MERGES = [
  "l l", "H e", "He ll", "Hell o", "o r", "Ġ w", "Ġw or", "Ġwor l", "Ġworl d",
  "Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "r e", "Ġ s", "a t", "e n", "in g", "Ġ i", "e s", "Ġ c"
]

/** GPT-2's bytes_to_unicode, as [byte, symbol] in GPT-2's vocabulary order (printable bytes first). */
export function byteSymbols(): Array<[number, string]> {
  const bytes: number[] = []
  for (let b = 33; b <= 126; b++) bytes.push(b)
  for (let b = 161; b <= 172; b++) bytes.push(b)
  for (let b = 174; b <= 255; b++) bytes.push(b)
  const out: Array<[number, string]> = bytes.map((b) => [b, String.fromCharCode(b)])
  let n = 0
  for (let b = 0; b < 256; b++) if (!bytes.includes(b)) out.push([b, String.fromCharCode(256 + n++)])
  return out
}

export function tokenizerLayout(arch: Arch): TokenizerLayout {
  const f = FAMILIES[arch]
  const vocab: Record<string, number> = {}
  let next = 0
  const add = (s: string) => {
    if (!(s in vocab)) vocab[s] = next++
  }
  if (f.first) f.specials.forEach(add)
  for (const [, sym] of byteSymbols()) add(sym)
  for (const m of MERGES) {
    const [a, b] = m.split(" ")
    if (!(a in vocab) || !(b in vocab)) throw new Error(`merge ${m} uses a symbol not in the vocab`)
    add(a + b)
  }
  if (!f.first) f.specials.forEach(add)
  const tok = (s: string | null): SpecialToken | null => (s === null ? null : { content: s, id: vocab[s] })
  return {
    vocab,
    merges: MERGES,
    specials: f.specials.map((s) => ({ content: s, id: vocab[s] })),
    bos: tok(f.bos),
    eos: tok(f.eos)!,
    pad: tok(f.pad),
    unk: tok(f.unk),
    addBos: f.addBos,
    size: next
  }
}

const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

function preTokenizer(split: Family["split"]): Record<string, unknown> {
  if (split === "gpt2") return { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true }
  return {
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: split === "llama3" ? LLAMA3_SPLIT : QWEN2_SPLIT }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false }
    ]
  }
}

/** tokenizer.json */
export function tokenizerJson(arch: Arch): Record<string, unknown> {
  const L = tokenizerLayout(arch)
  const f = FAMILIES[arch]
  const bos = L.bos
  const postProcessor =
    L.addBos && bos !== null
      ? {
          type: "TemplateProcessing",
          single: [{ SpecialToken: { id: bos.content, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
          pair: [
            { SpecialToken: { id: bos.content, type_id: 0 } },
            { Sequence: { id: "A", type_id: 0 } },
            { SpecialToken: { id: bos.content, type_id: 1 } },
            { Sequence: { id: "B", type_id: 1 } }
          ],
          special_tokens: { [bos.content]: { id: bos.content, ids: [bos.id], tokens: [bos.content] } }
        }
      : { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false }
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: L.specials.map((s) => ({
      id: s.id,
      content: s.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true
    })),
    normalizer: f.split === "qwen2" ? { type: "NFC" } : null,
    pre_tokenizer: preTokenizer(f.split),
    post_processor: postProcessor,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null, // every byte has a symbol
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: L.vocab,
      merges: [...L.merges]
    }
  }
}

/** tokenizer_config.json */
export function tokenizerConfigJson(arch: Arch, maxLength: number): Record<string, unknown> {
  const L = tokenizerLayout(arch)
  const decoder: Record<string, unknown> = {}
  for (const s of L.specials) {
    decoder[String(s.id)] = { content: s.content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }
  }
  return {
    add_bos_token: L.addBos,
    add_eos_token: false,
    added_tokens_decoder: decoder,
    bos_token: L.bos?.content ?? null,
    clean_up_tokenization_spaces: false,
    eos_token: L.eos.content,
    model_max_length: maxLength,
    pad_token: L.pad?.content ?? null,
    tokenizer_class: "PreTrainedTokenizerFast",
    unk_token: L.unk?.content ?? null
  }
}
