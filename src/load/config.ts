// config.json: read with errors that say which file and what is wrong.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { configProblems } from "./config-rules.ts";

/** A model's config.json as mlx-lm reads it: model_type plus the family's fields. */
export interface ModelConfig {
  model_type: string;
  [field: string]: unknown;
}

export function readJsonObject(path: string, what: string): Record<string, unknown> {
  if (!existsSync(path)) throw new Error(`${what} not found: ${path}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new Error(`${what} ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${what} ${path} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** Reads `<dir>/config.json`; it must name a model_type. */
export function readModelConfig(dir: string): ModelConfig {
  const path = join(dir, "config.json");
  const config = readJsonObject(path, "model config");
  if (typeof config.model_type !== "string" || config.model_type === "") {
    throw new Error(`model config ${path} has no "model_type" string; mlx-lm checkpoints always name one`);
  }
  const problems = configProblems(config);
  if (problems.length > 0) {
    throw new Error(
      `model config ${path} has ${problems.length === 1 ? "a bad field" : "bad fields"}:\n  ${problems.join("\n  ")}`,
    );
  }
  return config as ModelConfig;
}
