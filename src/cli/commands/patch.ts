// `mlux patch --clean TEXT --corrupted TEXT`: activation patching (activationPatching): the site
// at each (layer, position), or each head's z, taken from one run into the other, and how much of
// the clean-vs-corrupted difference in the metric each patch recovers.
import { type Command, InvalidArgumentError } from "commander";
import { activationPatching, type PatchDirection } from "../../experiments/patching.ts";
import { HEAD_SITE, POSITION_SITES, type Site } from "../../experiments/sites.ts";
import { integerList } from "../numbers.ts";
import { addOutputOptions, emit, type OutputOptions } from "../output/emit.ts";
import { renderHeatmap } from "../output/heatmap.ts";
import { withProgress } from "../output/progress.ts";
import { layerGridHeatmap, layerGridTable } from "./grid-heatmap.ts";
import { addMetricOptions, checkMetricTokens, type MetricOptions, metricOf, metricText } from "./metric-options.ts";
import { checkLayers, choice, dtypeOption, type ModelOptions, modelOption, openModel, UsageError } from "./shared.ts";

export const SITES: readonly Site[] = [...POSITION_SITES, HEAD_SITE];

interface PatchOptions extends ModelOptions, OutputOptions, MetricOptions {
  clean: string;
  corrupted: string;
  site: Site;
  direction: PatchDirection;
  layers?: number[];
  pairs?: [number, number][];
}

export function registerPatch(program: Command): void {
  const command = program
    .command("patch")
    .description("activation patching: which activations carry the difference between a clean and a corrupted prompt")
    .requiredOption("--clean <text>", "the clean prompt")
    .requiredOption("--corrupted <text>", "the corrupted prompt (the same number of tokens as the clean one)")
    .option(
      "--site <site>",
      `what is patched: ${POSITION_SITES.join(", ")} (per layer and position) or z (per layer and head)`,
      choice(SITES),
      "resid_pre",
    )
    .option(
      "--direction <direction>",
      "denoising (clean activations into the corrupted run) or noising (corrupted into the clean run)",
      choice<PatchDirection>(["denoising", "noising"]),
      "denoising",
    )
    .option("--layers <list>", "the layers to patch, e.g. 0,2,3 (default all)", integerList({ min: 0 }))
    .option(
      "--pairs <list>",
      "clean:corrupted positions that hold the same role, e.g. 0:0,1:1,4:5 (needed when the prompts differ in length; only these are patched)",
      positionPairs,
    )
    .addOption(modelOption())
    .addOption(dtypeOption());
  addMetricOptions(command, "kl");
  addOutputOptions(command).action(patch);
}

async function patch(options: PatchOptions): Promise<void> {
  const metric = metricOf(options) ?? { kind: "kl" };
  const hm = await openModel(options);
  checkMetricTokens(hm, metric);
  if (options.layers) checkLayers(hm, options.layers);
  const [clean, corrupted] = [options.clean, options.corrupted].map((t) => (hm.toTokens(t)[0] as number[]).length) as [
    number,
    number,
  ];
  if (options.pairs === undefined && clean !== corrupted) {
    throw new UsageError(
      `the clean prompt is ${clean} tokens and the corrupted one ${corrupted}: give prompts of the same number of tokens, or --pairs`,
    );
  }
  const outside = options.pairs?.find(([c, k]) => c >= clean || k >= corrupted);
  if (outside !== undefined) {
    throw new UsageError(
      `option '--pairs <list>' argument has ${outside.join(":")}. The clean prompt has positions 0 to ${clean - 1}, the corrupted one 0 to ${corrupted - 1}.`,
    );
  }
  const result = withProgress("patching", (onProgress) =>
    activationPatching(hm, {
      clean: options.clean,
      corrupted: options.corrupted,
      metric,
      site: options.site,
      direction: options.direction,
      ...(options.layers ? { layers: options.layers } : {}),
      ...(options.pairs ? { positionPairs: options.pairs } : {}),
      onProgress,
    }),
  );
  emit(options, {
    json: () => result.toJSON(),
    csv: () =>
      layerGridTable(result.layers, result.columns, result.site === HEAD_SITE ? "head" : "position", result.labels, {
        raw: result.raw,
        normalized: result.normalized,
      }),
    text: (style) =>
      [
        `${metricText(result.metric)}: clean ${result.clean.toFixed(4)}, corrupted ${result.corrupted.toFixed(4)}`,
        renderHeatmap(
          layerGridHeatmap({
            title: `activation patching (${result.direction}) of ${result.site}`,
            layers: result.layers,
            columns: result.columns,
            columnKind: result.site === HEAD_SITE ? "head" : "position",
            labels: result.labels,
            values: result.normalized,
            decimals: 2,
            legend:
              "cell: (patched - corrupted) / (clean - corrupted); 1 = the clean run's metric, 0 = the corrupted run's",
          }),
          style,
        ),
      ].join("\n"),
  });
}

// "0:0,1:1,4:5" as [clean, corrupted] pairs, each position paired once.
function positionPairs(text: string): [number, number][] {
  const pairs = text.split(",").map((item) => {
    const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(item);
    if (!match) throw new InvalidArgumentError("It takes clean:corrupted position pairs, e.g. 0:0,1:1,4:5.");
    return [Number(match[1]), Number(match[2])] as [number, number];
  });
  for (const side of [0, 1] as const) {
    const positions = pairs.map((pair) => pair[side]);
    if (new Set(positions).size !== positions.length) {
      throw new InvalidArgumentError(`It pairs a ${side === 0 ? "clean" : "corrupted"} position twice.`);
    }
  }
  return pairs;
}
