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
  const detokenizer = new StreamingDetokenizer(tokenizer);
  const start = performance.now();
  let firstTokenAt = 0;
  let generated = 0;
  let finishReason: GenerationStats["finishReason"] = "length";
  let held = ""; // text not yielded yet because it could be the start of a stop string
  const stops = (options.stop ?? []).filter((stop) => stop.length > 0);
  for (const { token, logprobs } of generateStep(model, promptIds, stepOptions)) {
    logprobs.dispose();
    generated++;
    if (generated === 1) firstTokenAt = performance.now();
    if (tokenizer.eosTokenIds.has(token)) {
      finishReason = "eos";
      break;
    }
    held += detokenizer.add(token);
    const cut = firstStop(held, stops);
    if (cut !== undefined) {
      if (cut > 0) yield { text: held.slice(0, cut), token };
      finishReason = "stop";
      break;
    }
    const ready = held.slice(0, held.length - stopPrefixLength(held, stops));
    if (ready) {
      held = held.slice(ready.length);
      yield { text: ready, token };
      // Let the event loop breathe between tokens (a server may be streaming these).
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  if (finishReason !== "stop") {
    const rest = held + detokenizer.finalize();
    if (rest) yield { text: rest };
  }
  const end = performance.now();
  return {
    promptTokens: promptIds.length,
    generatedTokens: generated,
    firstTokenSeconds: (firstTokenAt - start) / 1000,
    tokensPerSecond: generated > 1 ? (generated - 1) / ((end - firstTokenAt) / 1000) : 0,
    finishReason,
  };
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
