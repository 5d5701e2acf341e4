// `mlux steer PROMPT --positive TEXT --negative TEXT`: the steering vector between two sets of
// prompts at one layer, and the prompt generated at -alpha, 0 and +alpha, side by side (columns
// that fit the terminal; stacked when it is narrow or not a terminal), or as JSON.
import { existsSync } from "node:fs";
import { type Command, Option } from "commander";
import { compareSteering, type SteeringComparison, steeringVector } from "../../experiments/steering.ts";
import { HookedModel } from "../../hooks/hooked-model.ts";
import type { ComputeDtype } from "../../models/compute-dtype.ts";
import { integer, real } from "../numbers.ts";
import { addOutputOptions, emit, type OutputOptions } from "../output/emit.ts";
import { DEFAULT_MODEL, dtypeOption, modelOption, UsageError } from "./shared.ts";
import { sideBySide, stacked } from "./side-by-side.ts";

interface SteerCommandOptions extends OutputOptions {
  model: string;
  dtype: ComputeDtype;
  positive: string[];
  negative: string[];
  layer?: number;
  at: "last" | "mean";
  site: "resid_post" | "resid_pre";
  alpha?: number;
  positions: "all" | "last" | "generated";
  maxTokens: number;
  temperature: number;
  seed?: number;
}

const repeatable = (text: string, previous: string[] = []) => [...previous, text];

export function registerSteer(program: Command): void {
  addOutputOptions(
    program
      .command("steer")
      .description("steer generation with the difference between two sets of prompts, and compare -alpha, 0, +alpha")
      .argument("<prompt>", "the text to continue (quote it)")
      .requiredOption("--positive <text>", "a prompt with the property to steer towards (repeatable)", repeatable)
      .requiredOption("--negative <text>", "a prompt without it (repeatable)", repeatable)
      .addOption(modelOption())
      .addOption(dtypeOption())
      .option(
        "--layer <n>",
        "the layer whose residual stream is read and steered (default: two thirds down)",
        integer({ min: 0 }),
      )
      .addOption(
        new Option("--at <where>", "read each prompt's last position or its mean over positions")
          .choices(["last", "mean"])
          .default("last"),
      )
      .addOption(
        new Option("--site <site>", "the stream leaving the layer (resid_post) or entering it (resid_pre)")
          .choices(["resid_post", "resid_pre"])
          .default("resid_post"),
      )
      .option(
        "--alpha <a>",
        "how strongly to steer: the generations use -a, 0 and +a (> 0; default: the suggested alpha)",
        real({ min: 0, minExclusive: true }),
      )
      .addOption(
        new Option(
          "--positions <which>",
          "where to add the vector: every position, the last prompt token on, or generated tokens only",
        )
          .choices(["all", "last", "generated"])
          .default("all"),
      )
      .option("--max-tokens <n>", "tokens per generation, at most (a whole number >= 1)", integer({ min: 1 }), 40)
      .option("--temperature <t>", "sampling temperature, 0 picks the most likely token (>= 0)", real({ min: 0 }), 0)
      .option(
        "--seed <s>",
        "seed of the sampler, the same for the three generations (a whole number >= 0)",
        integer({ min: 0 }),
      ),
  ).action(steerCommand);
}

async function steerCommand(prompt: string, options: SteerCommandOptions): Promise<void> {
  if (options.model === DEFAULT_MODEL && !existsSync(DEFAULT_MODEL)) {
    throw new Error(`the default model is missing from ${DEFAULT_MODEL}; name one with --model`);
  }
  const hm = await HookedModel.fromPretrained(options.model, { dtype: options.dtype });
  const layer = options.layer ?? Math.floor((2 * hm.layers) / 3);
  if (layer >= hm.layers) {
    throw new UsageError(
      `option '--layer <n>' argument '${layer}' is invalid. This model has ${hm.layers} layers: --layer takes 0 to ${hm.layers - 1}.`,
    );
  }
  const vector = steeringVector(hm, options.positive, options.negative, {
    layer,
    at: options.at,
    site: options.site,
  });
  const alpha = options.alpha ?? vector.suggestedAlpha;
  const comparison = compareSteering(hm, prompt, vector, {
    alphas: [-alpha, 0, alpha],
    positions: options.positions,
    maxTokens: options.maxTokens,
    temperature: options.temperature,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  });
  emit(options, {
    json: () => comparison.toJSON(),
    csv: () => ({
      header: ["alpha", "finish_reason", "generated_tokens", "text"],
      rows: comparison.generations.map((g) => [g.alpha, g.finishReason, g.generatedTokens, g.text]),
    }),
    // Columns side by side only on a terminal; stacked in a pipe or a file.
    text: (style) =>
      render(comparison, prompt, options.out === undefined && process.stdout.isTTY ? style.width : undefined),
  });
}

/** The comparison as text: the vector's summary, then the generations in columns (or stacked without a width). */
export function render(comparison: SteeringComparison, prompt: string, width: number | undefined): string {
  const v = comparison.vector;
  const where = v.at === "last" ? "last position" : "mean over positions";
  const summary = [
    `steering vector: layer ${v.layer} ${v.site} (${where}), ${v.positives} positive and ${v.negatives} negative prompts`,
    `|v| ${v.norm.toFixed(2)}, mean residual norm ${v.residualNorm.toFixed(2)}, suggested alpha ${v.suggestedAlpha} ` +
      `(alpha·|v| = half the residual norm); added at ${JSON.stringify(comparison.positions)} positions`,
    `prompt: ${prompt}`,
    "",
  ].join("\n");
  const columns = comparison.generations.map((g) => ({
    title: `alpha ${g.alpha > 0 ? "+" : ""}${g.alpha} (${g.finishReason})`,
    text: g.text,
  }));
  return `${summary}\n${(width === undefined ? undefined : sideBySide(columns, width)) ?? stacked(columns)}`;
}
