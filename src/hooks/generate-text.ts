// Text generation through a HookedModel: a prompt (text, a conversation, or token ids) in, text
// pieces out as they are generated, with the model's hooks and the call's own on at every forward
// pass. Pieces are whole characters; generation ends at an end-of-sequence token, a stop string or
// maxTokens. Nothing is left for the caller to dispose.
import { checkOptions } from "../analysis/cache-source.ts";
import type { GenerateStepOptions } from "../generate/generate.ts";
import { makeSampler, repetitionPenalty, type SamplingOptions } from "../generate/sampling.ts";
import { GeneratedText } from "../generate/stream.ts";
import type { ChatMessage } from "../load/chat-template.ts";
import type { Tokenizer } from "../load/tokenizer.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import type { HookedModel, HookOptions } from "./hooked-model.ts";

/** A text (encoded with the tokenizer's BOS rule, or as a user message with `chat`), a conversation, or token ids. */
export type TextPrompt = string | readonly ChatMessage[] | readonly number[];

export interface GenerateTextOptions extends SamplingOptions, HookOptions {
  /** Most tokens to generate (default 256); an end-of-sequence token or a stop string ends sooner. */
  maxTokens?: number;
  /** Stop at the first of these strings; the stop string itself is not given out. */
  stop?: string | readonly string[];
  /** Render a text prompt as one user message with the checkpoint's chat template (messages always are). */
  chat?: boolean;
  /** Sample reproducibly: a PRNG key made from this seed (not with `key`). */
  seed?: number;
  repetitionPenalty?: number;
  repetitionContextSize?: number;
  logitsProcessors?: GenerateStepOptions["logitsProcessors"];
  prefillStepSize?: number;
}

const OPTIONS: readonly (keyof GenerateTextOptions)[] = [
  "maxTokens",
  "stop",
  "chat",
  "seed",
  "temperature",
  "topK",
  "topP",
  "minP",
  "minTokensToKeep",
  "key",
  "repetitionPenalty",
  "repetitionContextSize",
  "logitsProcessors",
  "prefillStepSize",
  "hooks",
  "preHooks",
  "prependBos",
];

export type FinishReason = "eos" | "stop" | "length";

/** What a generation made: its text, token ids and why it ended. */
export class TextCompletion {
  constructor(
    readonly text: string,
    /** The prompt's token ids, as the model ran them (chat template and BOS included). */
    readonly promptIds: number[],
    /** The generated ids, the end-of-sequence token included when there was one. */
    readonly tokenIds: number[],
    readonly finishReason: FinishReason,
  ) {}

  get promptTokens(): number {
    return this.promptIds.length;
  }

  get generatedTokens(): number {
    return this.tokenIds.length;
  }

  toJSON() {
    return {
      text: this.text,
      promptTokens: this.promptTokens,
      generatedTokens: this.generatedTokens,
      tokenIds: this.tokenIds,
      finishReason: this.finishReason,
    };
  }
}

/**
 * The text pieces of one generation, read once: synchronously (`for ... of`, which also runs inside
 * hm.withHooks and sees its hooks) or asynchronously (`for await`, which lets the event loop run
 * between pieces). `completion` holds the whole text and why it ended, once the pieces are read to
 * the end. Leaving the loop early stops the generation and frees what it held.
 */
export class TextGeneration implements Iterable<string>, AsyncIterable<string> {
  readonly #run: () => Generator<string, TextCompletion>;
  #read = false;
  #completion: TextCompletion | undefined;

  constructor(run: () => Generator<string, TextCompletion>) {
    this.#run = run;
  }

  /** The whole generation, once read to its end. */
  get completion(): TextCompletion | undefined {
    return this.#completion;
  }

  *[Symbol.iterator](): Generator<string, void> {
    if (this.#read) throw new Error("a text generation is read once; call generateText again for another");
    this.#read = true;
    this.#completion = yield* this.#run();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string, void> {
    for (const piece of this) {
      yield piece;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/** Starts a generation from `prompt` (checked now; nothing runs until the pieces are read). */
export function generateText(hm: HookedModel, prompt: TextPrompt, options: GenerateTextOptions = {}): TextGeneration {
  const tokenizer = hm.tokenizer;
  if (tokenizer === undefined) {
    throw new Error("generateText needs a tokenizer to make text; this model was loaded without one (use generate)");
  }
  checkGenerateTextOptions(options, tokenizer.vocabSize);
  const promptIds = promptTokens(hm, tokenizer, prompt, options);
  const stops = options.stop === undefined ? [] : typeof options.stop === "string" ? [options.stop] : [...options.stop];
  const { maxTokens = 256, hooks, preHooks, prefillStepSize } = options;
  return new TextGeneration(function* () {
    const sampler = mx.tidy(() => makeSampler(samplingOf(options)));
    const text = new GeneratedText(tokenizer, stops);
    const tokenIds: number[] = [];
    const steps = hm.generate(promptIds, {
      maxTokens,
      sampler,
      ...(hooks === undefined ? {} : { hooks }),
      ...(preHooks === undefined ? {} : { preHooks }),
      ...(prefillStepSize === undefined ? {} : { prefillStepSize }),
      logitsProcessors: logitsProcessorsOf(options),
    });
    for (const { token, logprobs } of steps) {
      logprobs.dispose();
      tokenIds.push(token);
      const piece = text.add(token);
      if (piece) yield piece;
      if (text.finishReason !== undefined) break;
    }
    const rest = text.finish();
    if (rest) yield rest;
    return new TextCompletion(text.text, promptIds, tokenIds, text.finishReason ?? "length");
  });
}

/** Generates to the end and returns the whole text with its token counts and finish reason. */
export function completeText(hm: HookedModel, prompt: TextPrompt, options: GenerateTextOptions = {}): TextCompletion {
  const generation = generateText(hm, prompt, options);
  for (const _ of generation);
  return generation.completion as TextCompletion;
}

function promptTokens(
  hm: HookedModel,
  tokenizer: Tokenizer,
  prompt: TextPrompt,
  options: GenerateTextOptions,
): number[] {
  if (typeof prompt === "string") {
    if (!options.chat) {
      const tokenOptions = options.prependBos === undefined ? {} : { prependBos: options.prependBos };
      return hm.toTokens(prompt, tokenOptions)[0] as number[];
    }
    return chatTokens(tokenizer, [{ role: "user", content: prompt }]);
  }
  if (!Array.isArray(prompt) || prompt.length === 0) {
    throw new Error("generateText: the prompt must be a text, chat messages ({role, content}) or token ids, not empty");
  }
  if (prompt.every((m) => typeof m === "object" && m !== null && typeof (m as ChatMessage).role === "string")) {
    if (options.chat === false) throw new Error("generateText: chat messages are always rendered; drop chat: false");
    return chatTokens(tokenizer, prompt as ChatMessage[]);
  }
  if (options.chat) throw new Error("generateText: chat: true takes a text or messages, not token ids");
  if (!prompt.every((id) => typeof id === "number")) {
    throw new Error("generateText: the prompt must be a text, chat messages ({role, content}) or token ids");
  }
  return hm.toTokens(prompt as number[])[0] as number[];
}

function chatTokens(tokenizer: Tokenizer, messages: ChatMessage[]): number[] {
  return tokenizer.encodeChat(messages, { addGenerationPrompt: true });
}

function samplingOf(options: GenerateTextOptions): SamplingOptions {
  const { temperature, topK, topP, minP, minTokensToKeep, key, seed } = options;
  return {
    ...(temperature === undefined ? {} : { temperature }),
    ...(topK ? { topK } : {}), // 0: no top-k filter, as in mlx-lm
    ...(topP === undefined ? {} : { topP }),
    ...(minP === undefined ? {} : { minP }),
    ...(minTokensToKeep === undefined ? {} : { minTokensToKeep }),
    ...(seed === undefined ? (key === undefined ? {} : { key }) : { key: mx.random.key(seed) }),
  };
}

function logitsProcessorsOf(options: GenerateTextOptions): ((tokens: number[], logits: MxArray) => MxArray)[] {
  const processors = [...(options.logitsProcessors ?? [])];
  if (options.repetitionPenalty !== undefined && options.repetitionPenalty !== 1) {
    processors.unshift(repetitionPenalty(options.repetitionPenalty, options.repetitionContextSize));
  }
  return processors;
}

/** Refuses a bad option before anything runs, naming it and what it takes. */
function checkGenerateTextOptions(options: GenerateTextOptions, vocabSize: number): void {
  const what = "generateText";
  checkOptions(options, OPTIONS, what);
  const o = options as Record<string, unknown>;
  const fail = (name: string, takes: string): never => {
    throw new RangeError(`${what}: ${name} must be ${takes}, got ${JSON.stringify(o[name]) ?? String(o[name])}`);
  };
  const integer = (name: string, min: number, max = Number.MAX_SAFE_INTEGER, takes = `a whole number >= ${min}`) => {
    const v = o[name];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min && (v as number) <= max)) fail(name, takes);
  };
  const real = (name: string, ok: (v: number) => boolean, takes: string) => {
    const v = o[name];
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && ok(v))) fail(name, takes);
  };
  integer("maxTokens", 0);
  integer("topK", 0, vocabSize - 1, `a whole number from 0 (all tokens) to ${vocabSize - 1}`);
  integer("minTokensToKeep", 1);
  integer("repetitionContextSize", 1);
  integer("prefillStepSize", 1);
  integer("seed", 0);
  real("temperature", (v) => v >= 0, "a number >= 0 (0 picks the most likely token)");
  real("topP", (v) => v > 0 && v <= 1, "a number in (0, 1]");
  real("minP", (v) => v >= 0 && v <= 1, "a number in [0, 1]");
  real("repetitionPenalty", (v) => v > 0, "a number > 0 (1: none)");
  if (options.seed !== undefined && options.key !== undefined) {
    throw new Error(`${what}: give seed or key, not both`);
  }
  if (options.chat !== undefined && typeof options.chat !== "boolean") fail("chat", "true or false");
  const { stop } = options;
  if (stop !== undefined) {
    const list = typeof stop === "string" ? [stop] : stop;
    if (!Array.isArray(list) || list.some((s) => typeof s !== "string" || s.length === 0)) {
      fail("stop", "a non-empty string or a list of them");
    }
  }
  if (
    options.logitsProcessors !== undefined &&
    (!Array.isArray(options.logitsProcessors) || options.logitsProcessors.some((p) => typeof p !== "function"))
  ) {
    throw new TypeError(`${what}: logitsProcessors must be a list of functions (tokens, logits) => logits`);
  }
}
