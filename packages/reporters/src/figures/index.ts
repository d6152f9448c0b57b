/**
 * The figures of a report, in order, each with the caption that tells a reader how to read it and
 * what the section says when its data is absent.
 */
import type { ReportInput } from "../input.js"
import type { VlSpec } from "./common.js"
import { embeddingsSpec } from "./embeddings.js"
import { errorVsKSpec } from "./error-vs-k.js"
import { linearProbeSpec } from "./linear-probe.js"
import { lossTdSpec } from "./loss-td.js"
import { pairwiseTdSpec } from "./pairwise-td.js"
import { patchingSpec } from "./patching.js"
import { tdHeatmapSpec } from "./td-heatmap.js"
import { headImportanceSpec } from "./llm.js"

export interface FigureDef {
  /** file stem: figures/<name>.svg and .png */
  name: string
  heading: string
  caption: (input: ReportInput) => string
  /** shown instead of the figure when `spec` returns null */
  absent: string
  spec: (input: ReportInput) => VlSpec | null
}

export const FIGURES: readonly FigureDef[] = [
  {
    name: "loss_td",
    heading: "Loss drops and task decodability",
    caption: (i) =>
      `Top: normalised test MSE of each concept over training (1 = always predicting 0). ` +
      `Bottom: TD at layer ${i.reportedLayer} (blocks.${i.reportedLayer}.hook_resid_post); black is the mean over concepts, ` +
      `dashed coloured lines are per concept, the dotted grey line is chance (1/${i.concepts.length}). ` +
      `Both panels share the step axis: if representation and loss are coupled, each loss drop lines up with a TD rise. ` +
      `Dotted coloured rules mark where each concept's loss got halfway down; the black dashed rule where TD got halfway up.`,
    absent: "No loss curves and no TD at the reported layer were given, so this figure was not drawn.",
    spec: lossTdSpec
  },
  {
    name: "td_heatmap",
    heading: "Task decodability by layer and checkpoint",
    caption: (i) =>
      `Each cell is the leave-one-out 10-NN task decodability of one layer's residual stream (rows; "embed" = embedding) at one ` +
      `checkpoint (columns). 1 = every point's neighbours share its concept; chance is ${fmtChance(i)}. ` +
      `The reported layer ${i.reportedLayer} is framed and labelled in red. Read upwards to see where concepts become separable, rightwards to see when.`,
    absent: "No TD curves were given, so this figure was not drawn.",
    spec: tdHeatmapSpec
  },
  {
    name: "embeddings",
    heading: "Representations at early, two-cluster (or middle) and final checkpoints",
    caption: (i) =>
      `2-D projections of layer ${i.reportedLayer} activations, one point per sequence, coloured by its concept. ` +
      `One cluster means the layer does not tell concepts apart; separate coloured clusters mean it does. ` +
      `Axes are the projection's arbitrary coordinates and are not comparable between panels.`,
    absent: "No UMAP/PCA projections were given, so this figure was not drawn.",
    spec: embeddingsSpec
  },
  {
    name: "patching",
    heading: "Activation patching",
    caption: (i) =>
      `Rows: the concept of the input sequence (source). Columns: the concept whose mean activation (from probe sequences disjoint ` +
      `from these) replaced the residual stream at ${i.summary.patching?.positions === "query" ? "the query token (only the query's prediction is scored)" : `the ${i.summary.patching?.positions ?? "patched"} positions`} ` +
      `(target); the last column is the source's loss without any patch. Cells: test NMSE after patching (darker = worse). ` +
      `Outlined diagonal = self-patching, expected to be about as good as unpatched. A dark off-diagonal cell means the model ` +
      `used the patched-in concept: the layer carries the concept causally. The layer is the ${i.summary.patching?.layerChosenOn ?? "configured layer"} ` +
      `(layer ${i.summary.patching?.layer ?? "?"}), at the two-cluster checkpoint (when one was detected) and the final one; summary.json lists every patched layer.`,
    absent: "Activation patching was not run for this configuration.",
    spec: patchingSpec
  },
  {
    name: "error_vs_k",
    heading: "Error vs number of in-context examples",
    caption: (i) =>
      `Test NMSE after k in-context examples on ${i.taskDescription}: the trained model at its early, two-cluster (or middle) and final checkpoints ` +
      `(solid, light grey to black) and reference solvers (dashed). Least squares, ridge and lasso use all dimensions. ` +
      (i.oracleDescription
        ? `The Bayes oracle knows the basis and solves ${i.oracleDescription} with the task's prior; the Bayes-optimal predictor knows only the task's prior ` +
          `(the posterior over the weight pool, or over bases under fresh w) and is the best any learner can do. A model near the oracle has inferred the latent concept from the context.`
        : `The task has no basis, so no basis-knowing reference is drawn.`),
    absent: "No error-vs-k evaluation was given, so this figure was not drawn.",
    spec: errorVsKSpec
  },
  {
    name: "pairwise_td",
    heading: "Pairwise task decodability",
    caption: () =>
      `TD computed on two concepts at a time (chance = 0.5, 1 = perfectly separable). ` +
      `Low cells show which concepts the representation still confuses with each other.`,
    absent: "Pairwise TD was not computed for this run.",
    spec: pairwiseTdSpec
  },
  {
    name: "linear_probe",
    heading: "Linear probe accuracy",
    caption: (i) =>
      `Held-out accuracy of a linear classifier predicting the concept from each layer's residual stream, one line per checkpoint ` +
      `(yellow = earliest, purple = latest). Dotted line: chance (${fmtChance(i)}). Unlike TD (local neighbourhoods), ` +
      `this asks whether the concepts are linearly separable.`,
    absent: "Linear probes were not run for this configuration.",
    spec: linearProbeSpec
  },
  {
    name: "heads",
    heading: "Head importance",
    caption: (i) =>
      `Each attention head of each layer ablated alone (its output before W_O set to 0) at every position, at the final checkpoint; colour is the ` +
      `change of the query prediction's normalised MSE on each concept's sequences (red: the head matters for that concept). A head that is red for ` +
      `one concept and pale for the others is concept-specific.` +
      (i.summary.heads ? ` Top heads: ${i.summary.heads.synthetic.modes[0].topHead.map((t) => `${t.label} L${t.layer}H${t.head}`).join(", ")}.` : ""),
    absent: "Head importance was not run (config heads: null), so this figure was not drawn.",
    spec: (i) => {
      const modes = i.summary.heads?.synthetic.modes ?? []
      const m = modes.find((x) => x.ablation === "zero") ?? modes[0]
      return m ? headImportanceSpec(m.perConcept.map((p) => ({ title: p.label, change: p.lossChange })), `query NMSE change, ${m.ablation}-ablated heads`) : null
    }
  }
]

const fmtChance = (i: ReportInput): string => (i.concepts.length > 0 ? `1/${i.concepts.length}` : "unknown")

export type { VlSpec } from "./common.js"
