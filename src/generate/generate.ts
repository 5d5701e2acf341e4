// Token generation with a KV cache, as mlx-lm's generate_step: prefill the prompt, then one token
// at a time, each chosen by a sampler from the log-probabilities of the last position.

import type { CausalLM, LayerCache } from "../models/causal-lm.ts";
import { freeWhenDropped, type MxArray } from "../mx/array.ts";
import { deferRangeCheck, inDeferredRange } from "../mx/deferred-range.ts";
import * as mx from "../mx/index.ts";
import { track } from "../mx/scope.ts";
import { greedy, type Sampler } from "./sampling.ts";

export interface GenerateStepOptions {
  maxTokens?: number;
  sampler?: Sampler;
  /** Adjust the logits of the next token, given every token so far (prompt and generated). */
  logitsProcessors?: ((tokens: number[], logits: MxArray) => MxArray)[];
  /** Prompt tokens processed per forward pass during prefill (as mlx-lm's prefill_step_size). */
  prefillStepSize?: number;
  /** Reuse a cache (e.g. a cached prompt prefix); by default a fresh one. */
  cache?: LayerCache[];
}

export interface GeneratedToken {
  token: number;
  /** Log-probabilities [V] of the distribution the token was drawn from. */
  logprobs: MxArray;
}

// One step's output: the token drawn ([1]) and the log-probabilities [V] it was drawn from.
type Step = [token: MxArray, logprobs: MxArray];

/**
 * Yields generated tokens one by one. Each step's logprobs Array belongs to the caller (dispose
 * it, or use it inside a tidy scope). The cache is released when the generator finishes, unless
 * it was passed in.
 *
 * As mlx-lm's generate_step, the loop is pipelined: step n+1's graph is built from step n's token
 * while that token is still being computed (the token Array itself is the next input), and is
 * scheduled before step n's token is read and yielded. So, as in mlx-lm, one step more than the
 * tokens yielded is computed, and a cache passed in holds the last token yielded too.
 */
export function* generateStep(
  model: CausalLM,
  prompt: readonly number[],
  options: GenerateStepOptions = {},
): Generator<GeneratedToken> {
  requirePrompt(prompt);
  const maxTokens = options.maxTokens ?? 256;
  const sampler = options.sampler ?? greedy;
  const processors = options.logitsProcessors ?? [];
  const prefillStep = options.prefillStepSize ?? 2048;
  const ownCache = options.cache === undefined;
  const cache = options.cache ?? model.makeCache();
  const tokens = [...prompt];
  // Arrays of the steps built but not yet handed to the caller, released however the loop ends.
  let current: Step | undefined;
  let next: Step | undefined;
  // The graph of the step that takes `input` [1, L] (disposed here); its arrays outlive any scope
  // open around the loop.
  const step = (input: MxArray): Step => {
    try {
      return mx.keep(
        mx.tidy((): Step => {
          let logits = mx.index(model.call(input, cache), ":", -1, ":");
          for (const process of processors) logits = process(tokens, logits);
          const lp = mx.subtract(logits, mx.logsumexp(logits, { axis: -1, keepdims: true }));
          return [sampler(lp), mx.squeeze(lp, 0)];
        }),
      );
    } finally {
      input.dispose();
    }
  };
  try {
    // Prefill all but the last prompt token, in chunks; the last one starts the loop.
    let position = 0;
    while (prompt.length - position > 1) {
      const chunk = prompt.slice(position, Math.min(position + prefillStep, prompt.length - 1));
      mx.tidy(() => {
        const logits = model.call(mx.array([chunk]), cache);
        // As mlx-lm, only the cache is computed: a prefill chunk's logits (the output projection
        // over the whole vocabulary at every position) are never read.
        mx.eval(cacheState(cache) ?? logits);
      });
      position += chunk.length;
    }
    if (maxTokens <= 0) return;
    current = step(mx.array([prompt.slice(position)]));
    mx.scheduleEval(current);
    for (let n = 0; n < maxTokens; n++) {
      const [chosen, logprobs] = current;
      // Logits processors see every token so far as numbers, so with processors this token is
      // read before the next step is built (the computation then overlaps only the caller's
      // work on this token). The order of the steps, hence of every random draw, is the same.
      let token = processors.length > 0 ? readToken(chosen) : undefined;
      if (token !== undefined) tokens.push(token);
      // The sampler's output, unread, is the next input: its range check waits until it is read.
      const input = mx.reshape(chosen, [1, 1]);
      const range = deferRangeCheck(input);
      next = step(input);
      mx.scheduleEval(next);
      if (token === undefined) {
        token = readToken(chosen);
        tokens.push(token);
      }
      // A token id is a row of the embedding: negative ids, which take() would count from the end,
      // are refused too.
      if (!Number.isInteger(token) || token < 0 || !inDeferredRange(token, range)) {
        throw new RangeError(
          `the sampler chose token ${token}, out of range for the model's embedding (valid: 0 to ${range.extent - 1})`,
        );
      }
      chosen.dispose();
      current = next;
      next = undefined;
      yield { token, logprobs: handOver(logprobs) };
    }
  } finally {
    for (const a of [...(current ?? []), ...(next ?? [])]) a.dispose();
    if (ownCache) for (const c of cache) c.dispose();
  }
}

// The arrays of every layer's cache, or undefined if a cache does not say what it holds.
function cacheState(cache: readonly LayerCache[]): MxArray[] | undefined {
  const arrays: MxArray[] = [];
  for (const c of cache) {
    const state = (c as { state?: unknown }).state;
    if (!Array.isArray(state)) return undefined;
    arrays.push(...(state as MxArray[]));
  }
  return arrays;
}

// The value of a sampled token (waits for it to be computed).
function readToken(chosen: MxArray): number {
  return Number(chosen.item());
}

// Gives a kept Array to the scope open where the caller resumed the generator, if any, and to the
// garbage collector should the caller drop it without dispose().
function handOver(a: MxArray): MxArray {
  track(a);
  freeWhenDropped([a]);
  return a;
}

// Checked before anything runs, so a bad prompt is refused even when no token is asked for.
function requirePrompt(prompt: readonly number[]): void {
  if (!Array.isArray(prompt)) throw new TypeError(`the prompt must be a list of token ids, got ${typeof prompt}`);
  if (prompt.length === 0) throw new Error("generation needs at least one prompt token");
  for (const [i, id] of prompt.entries()) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 2 ** 31 - 1) {
      throw new RangeError(
        `prompt token ${i} is ${String(id)}; token ids are integers from 0 to the vocabulary size - 1`,
      );
    }
  }
}

/** The ids of up to maxTokens greedy (or sampled) tokens after the prompt. */
export function generateTokens(
  model: CausalLM,
  prompt: readonly number[],
  options: GenerateStepOptions = {},
): number[] {
  const out: number[] = [];
  for (const { token, logprobs } of generateStep(model, prompt, options)) {
    logprobs.dispose();
    out.push(token);
  }
  return out;
}
