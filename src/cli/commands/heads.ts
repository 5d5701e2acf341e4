// `mlux heads`: the head detectors (detectHeads): every head scored as a previous-token,
// duplicate-token and induction head on repeated random tokens, as a layers x heads heatmap per
// kind, and the heads at or above the threshold.
import type { Command } from "commander";
import { HEAD_KINDS, type HeadKind } from "../../analysis/head-scores.ts";
import { detectHeads, type HeadDetectorResult } from "../../experiments/head-detectors.ts";
import { integer, real } from "../numbers.ts";
import { addOutputOptions, emit, type OutputOptions } from "../output/emit.ts";
import { type Heatmap, renderHeatmap } from "../output/heatmap.ts";
import { withProgress } from "../output/progress.ts";
import { choice, dtypeOption, type ModelOptions, modelOption, openModel } from "./shared.ts";

const KIND_NAMES: Record<HeadKind, string> = {
  previousToken: "previous-token",
  duplicateToken: "duplicate-token",
  induction: "induction",
};
const KIND_CHOICES = [...Object.values(KIND_NAMES), "all"];

interface HeadsOptions extends ModelOptions, OutputOptions {
  kind: string;
  batch: number;
  repeatLength: number;
  seed: number;
  threshold: number;
}

export function registerHeads(program: Command): void {
  const command = program
    .command("heads")
    .description("find previous-token, duplicate-token and induction heads (on repeated random tokens)")
    .option("--kind <kind>", `which heads: ${KIND_CHOICES.join(", ")}`, choice(KIND_CHOICES), "all")
    .option("--batch <n>", "random sequences (a whole number >= 1)", integer({ min: 1 }), 32)
    .option(
      "--repeat-length <n>",
      "tokens in each sequence before it repeats (a whole number >= 1)",
      integer({ min: 1 }),
      50,
    )
    .option("--seed <s>", "seed of the random tokens (a whole number >= 0)", integer({ min: 0 }), 0)
    .option("--threshold <t>", "score from which a head is listed (0 to 1)", real({ min: 0, max: 1 }), 0.4)
    .addOption(modelOption())
    .addOption(dtypeOption());
  addOutputOptions(command).action(heads);
}

async function heads(options: HeadsOptions): Promise<void> {
  const kinds = options.kind === "all" ? HEAD_KINDS : HEAD_KINDS.filter((k) => KIND_NAMES[k] === options.kind);
  const hm = await openModel(options);
  const result = withProgress("scoring heads", (onProgress) =>
    detectHeads(hm, {
      kinds,
      batch: options.batch,
      repeatLength: options.repeatLength,
      seed: options.seed,
      threshold: options.threshold,
      onProgress,
    }),
  );
  emit(options, {
    json: () => result.toJSON(),
    csv: () => headsTable(result),
    text: (style) =>
      [
        ...(Object.keys(result.scores) as HeadKind[]).map((kind) => renderHeatmap(headsHeatmap(result, kind), style)),
        result.toString(),
      ].join("\n\n"),
  });
}

function headsTable(result: HeadDetectorResult) {
  const rows = (Object.keys(result.scores) as HeadKind[]).flatMap((kind) =>
    result.layers.flatMap((layer, i) =>
      (result.scores[kind]?.[i] ?? []).map((score, head) => [KIND_NAMES[kind], layer, head, score]),
    ),
  );
  return { header: ["kind", "layer", "head", "score"], rows };
}

export function headsHeatmap(result: HeadDetectorResult, kind: HeadKind): Heatmap {
  const scores = result.scores[kind] ?? [];
  const heads = Math.max(0, ...scores.map((row) => row.length));
  return {
    title: `${KIND_NAMES[kind]} scores (${result.options.batch} sequences of ${result.options.positions} tokens)`,
    rowTitle: "layer",
    columnTitle: "head",
    rows: result.layers.map((l) => `L${l}`),
    columns: Array.from({ length: heads }, (_, h) => `H${h}`),
    values: scores,
    format: (v) => v.toFixed(2),
    scale: { kind: "sequential", min: 0, max: 1 },
    legend: `cell: the head's ${KIND_NAMES[kind]} score`,
  };
}
