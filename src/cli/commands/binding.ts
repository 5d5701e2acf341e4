// `mlux binding`: which mechanism (positional, lexical, reflexive) carries a bound entity's answer at
// each layer, by patching the last token's residual stream from counterfactual prompts (arXiv
// 2510.06182); a table of the outcome fractions and the causal model's fit per layer, or --json.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Command, InvalidArgumentError, Option } from "commander";
import { bindingMechanisms } from "../../experiments/binding/mechanisms.ts";
import { OUTCOMES } from "../../experiments/binding/outcomes.ts";
import { answerTokenIds, type BindingSchema, checkSchema } from "../../experiments/binding/schema.ts";
import { HookedModel } from "../../hooks/hooked-model.ts";
import type { ComputeDtype } from "../../models/compute-dtype.ts";
import { integer, real } from "../numbers.ts";
import { addOutputOptions, emit, type OutputOptions } from "../output/emit.ts";
import { dtypeOption, UsageError } from "./shared.ts";

/** The model `mlux binding` runs without --model: the entity-binding fixture the repository ships. */
const FIT_PARAMS = ["positionalWeight", "sigma", "lexicalWeight", "reflexiveWeight", "originalWeight"] as const;
const FIT_COLUMNS = [...FIT_PARAMS, "jsDistance", "samples"];

export const BINDING_MODEL = fileURLToPath(new URL("../../../fixtures/entity-binding", import.meta.url));

interface BindingCommandOptions extends OutputOptions {
  model: string;
  dtype: ComputeDtype;
  pairs: number;
  groups: number[];
  seed: number;
  site: "resid_pre" | "resid_post";
  layers?: number[];
  threshold: number;
  all?: boolean;
  schema?: string;
  batchSize: number;
}

// A comma-separated list of whole numbers of at least `min`.
function integerList(min: number): (text: string) => number[] {
  const one = integer({ min });
  return (text) => {
    try {
      return text.split(",").map((part) => one(part.trim()));
    } catch {
      throw new InvalidArgumentError(`It takes whole numbers of at least ${min}, separated by commas (e.g. 4,5).`);
    }
  };
}

export function registerBinding(program: Command): void {
  addOutputOptions(
    program
      .command("binding")
      .description("which mechanism carries a bound entity's answer at each layer (positional, lexical, reflexive)")
      .addOption(
        new Option("--model <path>", "a checkpoint folder or a Hugging Face Hub id (OWNER/NAME)").default(
          BINDING_MODEL,
          "the bundled entity-binding fixture",
        ),
      )
      .addOption(dtypeOption())
      .option(
        "--pairs <n>",
        "prompt pairs (original and counterfactual) to run (a whole number >= 1)",
        integer({ min: 1 }),
        64,
      )
      .option(
        "--groups <list>",
        "bound pairs per prompt, one drawn per prompt (whole numbers >= 4, e.g. 4,5)",
        integerList(4),
        [4, 5],
      )
      .option("--seed <s>", "seed of the prompts (a whole number >= 0)", integer({ min: 0 }), 0)
      .addOption(
        new Option("--site <site>", "the residual stream patched at the last token: entering each layer, or leaving it")
          .choices(["resid_pre", "resid_post"])
          .default("resid_pre"),
      )
      .option("--layers <list>", "layers to patch (whole numbers >= 0, e.g. 2,3; default all)", integerList(0))
      .option(
        "--threshold <p>",
        "probability the patched top answer needs to count as one mechanism's (0 < p <= 1; below: mixed)",
        real({ min: 0, minExclusive: true, max: 1 }),
        0.5,
      )
      .option("--all", "count every pair, also those the model answers wrong unpatched")
      .option(
        "--schema <file>",
        "a JSON file with the prompts' wording (entities, attributes, statement, question, answer)",
      )
      .option("--batch-size <n>", "prompts per forward pass (a whole number >= 1)", integer({ min: 1 }), 32),
  ).action(binding);
}

async function binding(options: BindingCommandOptions): Promise<void> {
  if (options.model === BINDING_MODEL && !existsSync(BINDING_MODEL)) {
    throw new Error(`the default model is missing from ${BINDING_MODEL}; name one with --model`);
  }
  const schema = options.schema === undefined ? undefined : readSchema(options.schema);
  const hm = await HookedModel.fromPretrained(options.model, { dtype: options.dtype });
  if (options.layers !== undefined) {
    const bad = options.layers.find((l) => l >= hm.layers);
    if (bad !== undefined) {
      throw new UsageError(
        `option '--layers <list>' argument '${options.layers.join(",")}' is invalid. This model has layers 0 to ${hm.layers - 1}.`,
      );
    }
  }
  if (schema !== undefined && hm.tokenizer !== undefined) {
    // A schema the model can't run (too few entities for --groups, an answer of several tokens)
    // is the command line's doing: a usage error, found before anything runs.
    try {
      answerTokenIds(checkSchema(schema, Math.max(...options.groups)), hm.tokenizer);
    } catch (error) {
      throw new UsageError(`option '--schema <file>': ${(error as Error).message}`);
    }
  }
  const result = bindingMechanisms(hm, {
    pairs: options.pairs,
    groups: options.groups,
    seed: options.seed,
    site: options.site,
    threshold: options.threshold,
    onlyCorrect: options.all !== true,
    batchSize: options.batchSize,
    ...(options.layers === undefined ? {} : { layers: options.layers }),
    ...(schema === undefined ? {} : { schema }),
  });
  emit(options, {
    json: () => result.toJSON(),
    csv: () => ({
      header: ["site", "layer", ...OUTCOMES, "carrier", ...FIT_COLUMNS],
      rows: result.layers.map((l) => [
        result.site,
        l.layer,
        ...OUTCOMES.map((o) => l.fractions[o]),
        l.carrier,
        ...(l.fit === null
          ? FIT_COLUMNS.map(() => "")
          : [...FIT_PARAMS.map((p) => l.fit?.params[p] ?? ""), l.fit.jsDistance, l.fit.samples]),
      ]),
    }),
    text: () => result.toString(),
  });
}

function readSchema(file: string): BindingSchema {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`option '--schema <file>': cannot read ${file} (${(error as Error).message})`);
  }
  try {
    return JSON.parse(text) as BindingSchema;
  } catch (error) {
    throw new UsageError(`option '--schema <file>': ${file} is not JSON (${(error as Error).message})`);
  }
}
