import { Schema } from "effect"

/**
 * Hook points, named as in TransformerLens so its users feel at home. Layer l is zero-based.
 *
 *   hook_embed                     [batch, pos, d_model]  token (+ position) embedding, input of block 0
 *   blocks.{l}.hook_resid_pre      [batch, pos, d_model]  input of block l
 *   blocks.{l}.hook_resid_mid      [batch, pos, d_model]  after attention, before the MLP
 *   blocks.{l}.hook_resid_post     [batch, pos, d_model]  output of block l ("layer l" in reports)
 *   blocks.{l}.hook_attn_out       [batch, pos, d_model]  attention output added to the stream
 *   blocks.{l}.hook_mlp_out        [batch, pos, d_model]  MLP output added to the stream
 *   blocks.{l}.attn.hook_pattern   [batch, head, q_pos, k_pos]  attention probabilities
 *   blocks.{l}.attn.hook_z         [batch, pos, head, d_head]   each head's output before W_O (capture only;
 *                                                               intervene per head at hook_attn_out with `head`)
 *   ln_final                       [batch, pos, d_model]  after the final norm
 */
export type HookName =
  | "hook_embed"
  | "ln_final"
  | `blocks.${number}.hook_resid_pre`
  | `blocks.${number}.hook_resid_mid`
  | `blocks.${number}.hook_resid_post`
  | `blocks.${number}.hook_attn_out`
  | `blocks.${number}.hook_mlp_out`
  | `blocks.${number}.attn.hook_pattern`
  | `blocks.${number}.attn.hook_z`

const HOOK_RE =
  /^(hook_embed|ln_final|blocks\.(\d+)\.(hook_resid_pre|hook_resid_mid|hook_resid_post|hook_attn_out|hook_mlp_out|attn\.hook_pattern|attn\.hook_z))$/

export interface ParsedHook {
  readonly name: HookName
  /** Block index, or -1 for hook_embed, and nLayers for ln_final when resolved against a model. */
  readonly layer: number | null
  readonly point: string
}

export function parseHook(name: string): ParsedHook | null {
  const m = HOOK_RE.exec(name)
  if (!m) return null
  if (m[1] === "hook_embed" || m[1] === "ln_final") return { name: name as HookName, layer: null, point: m[1] }
  return { name: name as HookName, layer: Number(m[2]), point: m[3] }
}

export const residPost = (layer: number): HookName => `blocks.${layer}.hook_resid_post`

export const HookNameSchema = Schema.String.pipe(
  Schema.filter((s) => parseHook(s) !== null, {
    message: () => "not a hook name (expected e.g. hook_embed, blocks.3.hook_resid_post, ln_final)"
  })
)

/**
 * An intervention is data, not a closure, so it can live in an artifact's parameters and be hashed.
 * - replace: activation[b, p, :] = vector
 * - add:     activation[b, p, :] += vector
 * - zero:    activation[b, p, :] = 0
 * `positions` are token positions (negative counts from the end); "all" means every position.
 * `batch` optionally restricts the intervention to some batch rows (default: all rows).
 * `vector` has length d_model (ignored for zero). For per-head attention outputs `head` selects one head.
 */
export const InterventionSchema = Schema.Struct({
  hook: HookNameSchema,
  positions: Schema.Union(Schema.Literal("all"), Schema.Array(Schema.Int)),
  op: Schema.Literal("replace", "add", "zero"),
  vector: Schema.optional(Schema.Array(Schema.Number)),
  batch: Schema.optional(Schema.Array(Schema.Int)),
  head: Schema.optional(Schema.Int)
})
export type Intervention = Schema.Schema.Type<typeof InterventionSchema>
