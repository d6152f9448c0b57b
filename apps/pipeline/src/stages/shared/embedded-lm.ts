import { hashString, Rng } from "@conceptscope/core"
import { learningRateAt, pretrainLm, RunDir, type LmBatch } from "@conceptscope/finetuners"
import { loadSafetensors } from "@conceptscope/safetensors"
import { buildTokenizer, llamaConfigJson, loadTokenizer, writeHfDirectory } from "@conceptscope/model-runners"
import { bitwiseFamily, type ConceptFamily, episode, type EpisodeOptions, posFamily, PosMappingSchema, PromptTemplateSchema, readCorpus, taggingDocuments } from "@conceptscope/task-generators"
import { Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * The embedded LM of the LLM experiment: a small Llama pretrained here on a generated corpus of ICL
 * episodes of both concept families (train splits only, drawn with the evaluation's split seed, so no
 * evaluation query is ever seen) and plain sentences, with deliberately unequal concept frequencies and
 * some episodes carrying the instruction that names their concept. Written as a Hugging Face directory
 * (config.json, model.safetensors, tokenizer.json) that the runner loads like any checkpoint.
 */
export const EmbeddedParams = Schema.Struct({
  size: Schema.Struct({ nLayers: Schema.Int, dModel: Schema.Int, nHeads: Schema.Int, nKvHeads: Schema.Int, intermediate: Schema.Int }),
  vocabWords: Schema.Int,
  corpus: Schema.Struct({
    familyWeights: Schema.Struct({ pos: Schema.Number, bitwise: Schema.Number }),
    weights: Schema.Record({ key: Schema.String, value: Schema.Number }),
    nullFraction: Schema.Number,
    instructedFraction: Schema.Number,
    plainFraction: Schema.Number,
    taggedFraction: Schema.Number,
    minShots: Schema.Int,
    maxShots: Schema.Int,
    tokenizerDocs: Schema.Int
  }),
  train: Schema.Struct({
    steps: Schema.Int,
    batchSize: Schema.Int,
    maxTokens: Schema.Int,
    lr: Schema.Number,
    warmupSteps: Schema.Int,
    gradClip: Schema.Number,
    checkpoints: Schema.Int,
    lossOn: Schema.Literal("answers", "all")
  }),
  /** the families' sources, as the prompts stage reads them */
  pos: Schema.Struct({ corpus: Schema.NullOr(Schema.String), sha256: Schema.String, mapping: PosMappingSchema, testFraction: Schema.Number }),
  bitwise: Schema.Struct({ width: Schema.Int, testFraction: Schema.Number }),
  template: PromptTemplateSchema,
  instructions: Schema.Struct({ pos: Schema.Record({ key: Schema.String, value: Schema.String }), bitwise: Schema.Record({ key: Schema.String, value: Schema.String }) }),
  /** the evaluation's split seed: pretraining reads only the train split it draws */
  splitSeed: Schema.Int
})
export type EmbeddedParams = typeof EmbeddedParams.Type

/** Plain sentences drawn for the corpus (train-split POS sentences, so no query sentence is seen). */
const PLAIN_SENTENCES = 2000

export function corpusOptions(p: EmbeddedParams): EpisodeOptions {
  const sentences = readCorpus(p.pos.corpus ?? undefined)
  const posOpts = { mapping: p.pos.mapping, testFraction: p.pos.testFraction, splitSeed: p.splitSeed }
  const families: ConceptFamily[] = [
    posFamily(sentences, posOpts),
    bitwiseFamily({ width: p.bitwise.width, testFraction: p.bitwise.testFraction, splitSeed: p.splitSeed })
  ]
  const rng = new Rng(p.splitSeed).fork("embedded-plain")
  const pos = families[0]
  const plain = [...new Set(Array.from({ length: PLAIN_SENTENCES }, () => pos.examples(pos.labels[0], "train", 1, rng)[0].input))]
  return {
    families,
    familyWeights: [p.corpus.familyWeights.pos, p.corpus.familyWeights.bitwise],
    weights: p.corpus.weights,
    nullFraction: p.corpus.nullFraction,
    instructedFraction: p.corpus.instructedFraction,
    instructions: p.instructions,
    minShots: p.corpus.minShots,
    maxShots: p.corpus.maxShots,
    plainFraction: p.corpus.plainFraction,
    plain,
    taggedFraction: p.corpus.taggedFraction,
    tagged: p.corpus.taggedFraction > 0 ? taggingDocuments(sentences, posOpts, p.template) : [],
    template: p.template
  }
}

/**
 * Which tokens of a packed row are answer tokens: those after an output marker (the template's output
 * prefix, as tokens) up to the next input marker, BOS or EOS. Instructions, inputs, markers and plain
 * sentences are not.
 */
export function answerTokens(row: readonly number[], m: { output: readonly number[]; input: readonly number[]; eos: number; bos: number }): Uint8Array {
  const out = new Uint8Array(row.length)
  const at = (i: number, seq: readonly number[]) => seq.length > 0 && seq.every((x, j) => row[i + j] === x)
  let inAnswer = false
  for (let i = 0; i < row.length; i++) {
    if (row[i] === m.eos || row[i] === m.bos || at(i, m.input)) inAnswer = false
    else if (at(i, m.output)) {
      inAnswer = true
      i += m.output.length - 1
      continue
    }
    if (inAnswer) out[i] = 1
  }
  return out
}

/** Documents of the corpus are episode(opts, corpusSeed, index), the index a hash of (step, row, k). */
const corpusSeed = (p: EmbeddedParams) => hashString(`embedded-corpus:${p.splitSeed}`)

/**
 * Pretrain the embedded LM and write its Hugging Face directory to `outDir` (the run's resumable state
 * in `workDir`). Returns the training summary for the artifact's metadata.
 */
export async function pretrainEmbedded(
  p: EmbeddedParams,
  outDir: string,
  workDir: string,
  checkpointDir: string
): Promise<{ finalLoss: number | null; msPerStep: number; resumedFrom: number | null; vocab: number; tokensPerStep: number; checkpoints: { step: number; dir: string }[] }> {
  const opts = corpusOptions(p)
  const seed = corpusSeed(p)
  const tokenizer = buildTokenizer(
    Array.from({ length: p.corpus.tokenizerDocs }, (_, i) => episode(opts, seed, i).text),
    { vocabSize: p.vocabWords }
  )
  // encode through the tokenizer.json just built, exactly as the runner will read it
  const tokDir = path.join(workDir, "tokenizer")
  fs.mkdirSync(tokDir, { recursive: true })
  fs.writeFileSync(path.join(tokDir, "tokenizer.json"), JSON.stringify(tokenizer.tokenizer))
  fs.writeFileSync(path.join(tokDir, "tokenizer_config.json"), JSON.stringify(tokenizer.config))
  const tok = loadTokenizer(tokDir)
  const { train } = p
  const config = llamaConfigJson({ ...p.size, maxPositions: train.maxTokens, ropeTheta: 10000 }, tokenizer.vocab.size, { bos: tokenizer.bosId, eos: tokenizer.eosId, pad: tokenizer.padId })
  const markers = {
    output: tok.encode(p.template.outputPrefix.trim(), { addSpecialTokens: false }),
    input: tok.encode(p.template.inputPrefix.trim(), { addSpecialTokens: false }),
    eos: tokenizer.eosId,
    bos: tokenizer.bosId
  }
  // each row packs whole documents (BOS ... EOS) drawn for (step, row) until maxTokens are filled, the last
  // one cut: no padding, and the batch is a function of the step alone
  const sampleBatch = (step: number): LmBatch => {
    const B = train.batchSize
    const T = train.maxTokens
    const ids = new Int32Array(B * T) // [B*T] row-major
    const targets = new Int32Array(B * T).fill(-1)
    for (let b = 0; b < B; b++) {
      const row: number[] = []
      for (let k = 0; row.length < T + 1; k++) row.push(...tok.encode(episode(opts, seed, hashString(`${step}:${b}:${k}`)).text), tokenizer.eosId)
      ids.set(row.slice(0, T), b * T)
      const scored = train.lossOn === "all" ? null : answerTokens(row, markers)
      for (let t = 0; t < T; t++) if (!scored || scored[t + 1]) targets[b * T + t] = row[t + 1]
    }
    return { ids, targets, B, T }
  }
  const result = await pretrainLm({
    config,
    seed: p.splitSeed,
    steps: train.steps,
    sampleBatch,
    adam: { lr: train.lr, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 },
    clipGradNorm: train.gradClip,
    lrAt: (s) => learningRateAt({ decay: "cosine", warmupSteps: train.warmupSteps, finalFactor: 0.1 }, train.lr, s, train.steps),
    checkpoints: train.checkpoints,
    runDir: path.join(workDir, "run"),
    label: "pretrain"
  })
  const steps = result.losses.length
  await writeHfDirectory(outDir, config, result.model.weights(), tokenizer, { step: String(train.steps) })
  result.model.dispose()
  // every pretraining checkpoint as a Hugging Face directory too (the trajectory stage reads them)
  const checkpoints: { step: number; dir: string }[] = []
  for (const c of new RunDir(path.join(workDir, "run")).checkpoints()) {
    const { tensors } = await loadSafetensors(c.file)
    const dir = path.join(checkpointDir, `step-${c.step}`)
    await writeHfDirectory(dir, config, new Map([...tensors].map(([n, t]) => [n, t.data])), tokenizer, { step: String(c.step) })
    checkpoints.push({ step: c.step, dir: path.relative(path.dirname(checkpointDir), dir) })
  }
  return {
    finalLoss: steps ? result.losses[steps - 1] : null,
    msPerStep: result.msPerStep,
    resumedFrom: result.resumedFrom,
    vocab: tokenizer.vocab.size,
    tokensPerStep: train.batchSize * train.maxTokens,
    checkpoints
  }
}
