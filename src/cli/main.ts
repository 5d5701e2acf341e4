#!/usr/bin/env node
// The mlux command. `mlux generate "prompt"` runs the default model (the KJV fixture the project
// ships) unless --model names a folder or a Hub id.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { streamGenerate } from "../generate/stream.ts";
import { Tokenizer } from "../load/tokenizer.ts";
import { loadModel } from "../models/load.ts";
import { SUPPORTED_MODEL_TYPES } from "../models/registry.ts";
import * as mx from "../mx/index.ts";

const packageRoot = fileURLToPath(new URL("../..", import.meta.url));
export const DEFAULT_MODEL = join(packageRoot, "fixtures", "tiny-lm-f16");

const USAGE = `usage:
  mlux generate [options] "prompt"     generate text from a prompt
      --model PATH|OWNER/NAME   a checkpoint folder or Hub id (default: the bundled tiny-lm-f16)
      --max-tokens N            (default 100)
      --temperature T           0 picks the most likely token (default 0)
      --top-p P --top-k K --min-p P --seed S --repetition-penalty R
      --stop TEXT               stop at this text (repeatable)
  mlux models                          list the supported model types`;

function number(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return n;
}

class UsageError extends Error {}

async function generate(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      model: { type: "string" },
      "max-tokens": { type: "string" },
      temperature: { type: "string" },
      "top-p": { type: "string" },
      "top-k": { type: "string" },
      "min-p": { type: "string" },
      seed: { type: "string" },
      "repetition-penalty": { type: "string" },
      stop: { type: "string", multiple: true },
    },
  });
  if (positionals.length !== 1) throw new UsageError("generate takes one prompt (quote it)");
  const modelPath = values.model ?? DEFAULT_MODEL;
  if (!values.model && !existsSync(modelPath)) throw new Error(`the default model is missing from ${modelPath}`);
  const { model, path } = await loadModel(modelPath, {
    onProgress: (p) =>
      process.stderr.write(
        `\rfetching ${p.repoId}: ${p.filesDone}/${p.filesTotal} files, ${(p.bytes / 1e6).toFixed(1)} MB`,
      ),
  });
  const tokenizer = Tokenizer.fromFolder(path);
  const seed = number(values.seed, "seed");
  if (seed !== undefined) mx.random.seed(seed); // as mlx_lm.generate --seed
  const stream = streamGenerate(model, tokenizer, positionals[0] as string, {
    maxTokens: number(values["max-tokens"], "max-tokens") ?? 100,
    temperature: number(values.temperature, "temperature") ?? 0,
    topP: number(values["top-p"], "top-p"),
    topK: number(values["top-k"], "top-k"),
    minP: number(values["min-p"], "min-p"),
    repetitionPenalty: number(values["repetition-penalty"], "repetition-penalty"),
    stop: values.stop,
  });
  process.stdout.write(positionals[0] as string);
  for (;;) {
    const next = await stream.next();
    if (next.done) {
      const s = next.value;
      process.stdout.write("\n");
      process.stderr.write(
        `[${s.promptTokens} prompt tokens, ${s.generatedTokens} generated (${s.finishReason}); ` +
          `first token ${s.firstTokenSeconds.toFixed(3)} s, ${s.tokensPerSecond.toFixed(1)} tokens/s]\n`,
      );
      return;
    }
    process.stdout.write(next.value.text);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === "generate") await generate(rest);
    else if (command === "models") console.log(SUPPORTED_MODEL_TYPES.join("\n"));
    else throw new UsageError(command ? `unknown command "${command}"` : "no command given");
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `mlux: ${message}\n${error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? `${USAGE}\n` : ""}`,
    );
    return error instanceof UsageError ? 2 : 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
