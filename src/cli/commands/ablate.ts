// `mlux ablate PROMPT`: ablation (ablation()): each head's output (z), or a site at each (layer,
// position), replaced by zero, by its mean over reference prompts, or by a resampled reference
// prompt's, and how much the metric drops.
import type { Command } from "commander";
import { type AblationKind, ablation } from "../../experiments/ablation.ts";
import { HEAD_SITE, POSITION_SITES, type Site } from "../../experiments/sites.ts";
import { integer, integerList } from "../numbers.ts";
import { addOutputOptions, emit, type OutputOptions } from "../output/emit.ts";
import { renderHeatmap } from "../output/heatmap.ts";
import { withProgress } from "../output/progress.ts";
import { layerGridHeatmap, layerGridTable } from "./grid-heatmap.ts";
import { addMetricOptions, checkMetricTokens, type MetricOptions, metricOf, metricText } from "./metric-options.ts";
import { SITES } from "./patch.ts";
import { checkLayers, choice, dtypeOption, type ModelOptions, modelOption, openModel, UsageError } from "./shared.ts";

interface AblateOptions extends ModelOptions, OutputOptions, MetricOptions {
  site: Site;
  kind: AblationKind;
  reference?: string[];
  layers?: number[];
  positions?: number[];
  seed: number;
  includeBos?: boolean;
}

export function registerAblate(program: Command): void {
  const command = program
    .command("ablate")
    .description("ablation: how much each head (or each layer's output at each position) matters to the next token")
    .argument("<prompt>", "the prompt (quote it)")
    .option(
      "--site <site>",
      `what is ablated: z (each head, at every position) or ${POSITION_SITES.join(", ")} (per layer and position)`,
      choice(SITES),
      "z",
    )
    .option(
      "--kind <kind>",
      "replace it by zero, by its mean over --reference prompts (default: the prompt), or by a --reference prompt's (resample)",
      choice<AblationKind>(["zero", "mean", "resample"]),
      "zero",
    )
    .option(
      "--reference <text>",
      "a reference prompt for mean and resample (repeatable)",
      (text: string, previous: string[] = []) => [...previous, text],
    )
    .option("--layers <list>", "the layers to ablate, e.g. 0,2 (default all)", integerList({ min: 0 }))
    .option(
      "--positions <list>",
      "the positions ablated (default all; for z, where each head is ablated)",
      integerList({ min: 0 }),
    )
    .option(
      "--seed <s>",
      "which reference prompt each resampled cell takes (a whole number >= 0)",
      integer({ min: 0 }),
      0,
    )
    .option("--include-bos", "count the BOS position in the mean")
    .addOption(modelOption())
    .addOption(dtypeOption());
  addMetricOptions(command, "prob of the unablated run's top token");
  addOutputOptions(command).action(ablate);
}

async function ablate(prompt: string, options: AblateOptions): Promise<void> {
  const metric = metricOf(options);
  if (options.kind === "resample" && options.reference === undefined) {
    throw new UsageError("--kind resample needs --reference prompts to resample from");
  }
  if (options.reference !== undefined && options.kind === "zero") {
    throw new UsageError("--reference goes with --kind mean or resample, not zero");
  }
  const hm = await openModel(options);
  checkMetricTokens(hm, metric);
  if (options.layers) checkLayers(hm, options.layers);
  const length = (hm.toTokens(prompt)[0] as number[]).length;
  const outside = options.positions?.find((p) => p >= length);
  if (outside !== undefined) {
    throw new UsageError(
      `option '--positions <list>' argument has position ${outside}. The prompt has positions 0 to ${length - 1}.`,
    );
  }
  const result = withProgress("ablating", (onProgress) =>
    ablation(hm, {
      prompt,
      site: options.site,
      kind: options.kind,
      seed: options.seed,
      ...(metric ? { metric } : {}),
      ...(options.reference ? { reference: options.reference } : {}),
      ...(options.layers ? { layers: options.layers } : {}),
      ...(options.positions ? { positions: options.positions } : {}),
      ...(options.includeBos ? { includeBos: true } : {}),
      onProgress,
    }),
  );
  const columnKind = result.site === HEAD_SITE ? "head" : "position";
  const metricName =
    result.metric.kind === "prob" && typeof result.metric.token === "number"
      ? `p(${JSON.stringify(hm.toString([result.metric.token]))})`
      : metricText(result.metric);
  emit(options, {
    json: () => result.toJSON(),
    csv: () =>
      layerGridTable(result.layers, result.columns, columnKind, result.labels, {
        value: result.values,
        effect: result.effect,
      }),
    text: (style) =>
      [
        `${metricName}: ${result.baseline.toFixed(4)} unablated`,
        renderHeatmap(
          layerGridHeatmap({
            title: `${result.kind} ablation of ${result.site}`,
            layers: result.layers,
            columns: result.columns,
            columnKind,
            labels: result.labels,
            values: result.effect,
            decimals: 3,
            legend: "cell: unablated - ablated metric; positive where the ablation lowers it",
          }),
          style,
        ),
      ].join("\n"),
  });
}
