// `mlux models`: the model types (config.json "model_type") mlux runs.
import type { Command } from "commander";
import { SUPPORTED_MODEL_TYPES } from "../../models/registry.ts";

export function registerModels(program: Command): void {
  program
    .command("models")
    .description("list the supported model types (config.json model_type)")
    .action(() => {
      process.stdout.write(`${SUPPORTED_MODEL_TYPES.join("\n")}\n`);
    });
}
