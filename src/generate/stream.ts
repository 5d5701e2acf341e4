// Text generation: a prompt in, text pieces out as they are generated, stopping at an EOS token or
// a stop string, with the tokens per second of prefill and generation.
import { StreamingDetokenizer } from "../load/detokenizer.ts";
import type { Tokenizer } from "../load/tokenizer.ts";
import type { CausalLM } from "../models/causal-lm.ts";
import { type GenerateStepOptions, generateStep } from "./generate.ts";
import { makeSampler, repetitionPenalty, type SamplingOptions } from "./sampling.ts";

export interface StreamOptions extends SamplingOptions {
  maxTokens?: number;
  /** Stop when the text so far contains one of these (the stop string itself is not emitted). */
  stop?: string[];
  repetitionPenalty?: number;
  repetitionContextSize?: number;
}

export interface StreamPiece {
  text: string;
  token?: number;
}

export interface GenerationStats {
  promptTokens: number;
  generatedTokens: number;
  /** Seconds until the first token (prefill included). */
  firstTokenSeconds: number;
  /** Generated tokens per second after the first. */
  tokensPerSecond: number;
  finishReason: "eos" | "stop" | "length";
}

/**
 * Generates from `prompt` (encoded with the tokenizer's BOS rule), yielding text as soon as it is
 * whole characters; returns the statistics when done.
 */
export async function* streamGenerate(
  model: CausalLM,
  tokenizer: Tokenizer,
  prompt: string,
  options: StreamOptions = {},
): AsyncGenerator<StreamPiece, GenerationStats> {
  const promptIds = tokenizer.encode(prompt);
  const stepOptions: GenerateStepOptions = {
    maxTokens: options.maxTokens ?? 256,
    sampler: makeSampler(options),
    ...(options.repetitionPenalty
      ? { logitsProcessors: [repetitionPenalty(options.repetitionPenalty, options.repetitionContextSize)] }
      : {}),
  };
  const text = new GeneratedText(tokenizer, options.stop);
  const start = performance.now();
  let firstTokenAt = 0;
  let generated = 0;
  for (const { token, logprobs } of generateStep(model, promptIds, stepOptions)) {
    logprobs.dispose();
    generated++;
    if (generated === 1) firstTokenAt = performance.now();
    const piece = text.add(token);
    if (piece) yield { text: piece, token };
    if (text.finishReason !== undefined) break;
    // Let the event loop breathe between tokens (a server may be streaming these).
    if (piece) await new Promise((resolve) => setImmediate(resolve));
  }
  const rest = text.finish();
  if (rest) yield { text: rest };
  const end = performance.now();
  return {
    promptTokens: promptIds.length,
    generatedTokens: generated,
    firstTokenSeconds: (firstTokenAt - start) / 1000,
    tokensPerSecond: generated > 1 ? (generated - 1) / ((end - firstTokenAt) / 1000) : 0,
    finishReason: text.finishReason ?? "length",
  };
}

/**
 * The text of generated tokens, one token at a time: whole characters only (a character whose
 * bytes span tokens waits for the last of them), ended by an end-of-sequence token or a stop
 * string. Text that could be the start of a stop string is held back until it is known not to be.
 */
export class GeneratedText {
  readonly #tokenizer: Tokenizer;
  readonly #detokenizer: StreamingDetokenizer;
  readonly #stops: string[];
  #held = "";
  #text = "";
  #finishReason: "eos" | "stop" | undefined;

  constructor(tokenizer: Tokenizer, stops: readonly string[] = []) {
    this.#tokenizer = tokenizer;
    this.#detokenizer = new StreamingDetokenizer(tokenizer);
    this.#stops = stops.filter((stop) => stop.length > 0);
  }

  /** Why the text ended: an end-of-sequence token or a stop string; undefined while it goes on. */
  get finishReason(): "eos" | "stop" | undefined {
    return this.#finishReason;
  }

  /** Everything given out so far. */
  get text(): string {
    return this.#text;
  }

  /** Adds a token; returns the text that became final ("" if none). Tokens after the end are refused. */
  add(token: number): string {
    if (this.#finishReason !== undefined) throw new Error(`the text already ended (${this.#finishReason})`);
    if (this.#tokenizer.eosTokenIds.has(token)) {
      this.#finishReason = "eos";
      return "";
    }
    this.#held += this.#detokenizer.add(token);
    const cut = firstStop(this.#held, this.#stops);
    if (cut !== undefined) {
      this.#finishReason = "stop";
      return this.#giveOut(cut);
    }
    return this.#giveOut(this.#held.length - stopPrefixLength(this.#held, this.#stops));
  }

  /** The text still held back, once no token follows (none after a stop string). */
  finish(): string {
    if (this.#finishReason === "stop") return "";
    this.#held += this.#detokenizer.finalize();
    return this.#giveOut(this.#held.length);
  }

  #giveOut(length: number): string {
    const out = this.#held.slice(0, length);
    this.#held = this.#held.slice(length);
    this.#text += out;
    return out;
  }
}

// Where the first stop string starts in `text`, if one occurs.
function firstStop(text: string, stops: string[]): number | undefined {
  const hits = stops.map((stop) => text.indexOf(stop)).filter((i) => i >= 0);
  return hits.length ? Math.min(...hits) : undefined;
}

// The length of the longest end of `text` that begins some stop string (to hold back for now).
function stopPrefixLength(text: string, stops: string[]): number {
  let longest = 0;
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, text.length); k > longest; k--) {
      if (text.endsWith(stop.slice(0, k))) {
        longest = k;
        break;
      }
    }
  }
  return longest;
}
