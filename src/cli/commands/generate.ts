// `mlux generate PROMPT`: text from a prompt, as mlx_lm.generate makes it (same samplers, same
// tokens for the same --seed), printed as it comes; the statistics go to stderr.
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { streamGenerate } from "../../generate/stream.ts";
import { Tokenizer } from "../../load/tokenizer.ts";
import type { ComputeDtype } from "../../models/compute-dtype.ts";
import { loadModel } from "../../models/load.ts";
import { seedAsMlxLmGenerate } from "../mlx-lm-seed.ts";
import { integer, real } from "../numbers.ts";
import { downloadBar } from "../output/progress.ts";
import { DEFAULT_MODEL, dtypeOption, modelOption, UsageError } from "./shared.ts";

interface GenerateOptions {
  model: string;
  dtype: ComputeDtype;
  maxTokens: number;
  temperature: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  seed?: number;
  stop?: string[];
}

export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description("generate text from a prompt")
    .argument("<prompt>", "the text to continue (quote it)")
    .addOption(modelOption())
    .addOption(dtypeOption())
    .option("--max-tokens <n>", "how many tokens to generate, at most (a whole number >= 1)", integer({ min: 1 }), 100)
    .option("--temperature <t>", "sampling temperature, 0 picks the most likely token (>= 0)", real({ min: 0 }), 0)
    .option(
      "--top-p <p>",
      "keep the most likely tokens whose probabilities sum to p (0 < p <= 1)",
      real({ min: 0, minExclusive: true, max: 1 }),
    )
    .option("--top-k <k>", "keep the k most likely tokens (a whole number >= 0; 0: all)", integer({ min: 0 }))
    .option(
      "--min-p <p>",
      "drop tokens less likely than p times the most likely one (0 <= p <= 1)",
      real({ min: 0, max: 1 }),
    )
    .option(
      "--repetition-penalty <r>",
      "divide the logits of tokens seen recently by r (> 0)",
      real({ min: 0, minExclusive: true }),
    )
    .option("--seed <s>", "seed of the sampler, as mlx_lm.generate --seed (a whole number >= 0)", integer({ min: 0 }))
    .option("--stop <text>", "stop at this text (repeatable)", (text: string, previous: string[] = []) => [
      ...previous,
      text,
    ])
    .action(generate);
}

async function generate(prompt: string, options: GenerateOptions): Promise<void> {
  if (options.model === DEFAULT_MODEL && !existsSync(DEFAULT_MODEL)) {
    throw new Error(`the default model is missing from ${DEFAULT_MODEL}; name one with --model`);
  }
  const bar = downloadBar(options.model);
  const { model, config, path, compute } = await loadModel(options.model, {
    dtype: options.dtype,
    onProgress: bar.onProgress,
  }).finally(bar.stop);
  process.stderr.write(`[${compute.reason}]\n`);
  const tokenizer = Tokenizer.fromFolder(path);
  if (options.topK !== undefined && options.topK >= tokenizer.vocabSize) {
    throw new UsageError(
      `option '--top-k <k>' argument '${options.topK}' is invalid. This model has ${tokenizer.vocabSize} tokens: ` +
        `--top-k takes 0 (all) up to ${tokenizer.vocabSize - 1}.`,
    );
  }
  warnPastContext(tokenizer.encode(prompt).length, options.maxTokens, config.max_position_embeddings);
  if (options.seed !== undefined) seedAsMlxLmGenerate(options.seed, model, config.model_type);
  const stream = streamGenerate(model, tokenizer, prompt, {
    maxTokens: options.maxTokens,
    temperature: options.temperature,
    topP: options.topP,
    topK: options.topK || undefined, // 0: no top-k filter, as in mlx_lm
    minP: options.minP || undefined, // 0: no min-p filter, as in mlx_lm
    repetitionPenalty: options.repetitionPenalty,
    stop: options.stop,
  });
  process.stdout.write(prompt);
  for (;;) {
    const next = await stream.next();
    if (next.done) {
      const s = next.value;
      // No time to a first token when there was none, no rate without a second token.
      const timing = [
        s.generatedTokens > 0 ? `first token ${s.firstTokenSeconds.toFixed(3)} s` : "",
        s.generatedTokens > 1 ? `${s.tokensPerSecond.toFixed(1)} tokens/s` : "",
      ].filter(Boolean);
      process.stdout.write("\n");
      process.stderr.write(
        `[${s.promptTokens} prompt tokens, ${s.generatedTokens} generated (${s.finishReason})` +
          `${timing.length ? `; ${timing.join(", ")}` : ""}]\n`,
      );
      return;
    }
    process.stdout.write(next.value.text);
  }
}

// Past its trained context a model's positions are ones it never saw: say so, and go on.
function warnPastContext(promptTokens: number, maxTokens: number, maxPositions: unknown): void {
  if (typeof maxPositions !== "number") return;
  if (promptTokens > maxPositions) {
    process.stderr.write(
      `mlux: warning: the prompt is ${promptTokens} tokens, longer than the model's context ` +
        `(max_position_embeddings ${maxPositions}); what it generates may be meaningless\n`,
    );
  } else if (promptTokens + maxTokens > maxPositions) {
    process.stderr.write(
      `mlux: warning: the prompt (${promptTokens} tokens) and --max-tokens ${maxTokens} go past the model's ` +
        `context (max_position_embeddings ${maxPositions})\n`,
    );
  }
}
