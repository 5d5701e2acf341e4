// Token generation with a KV cache, as mlx-lm's generate_step: prefill the prompt, then one token
// at a time, each chosen by a sampler from the log-probabilities of the last position.

import type { CausalLM, LayerCache } from "../models/causal-lm.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
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

/**
 * Yields generated tokens one by one. Each step's logprobs Array belongs to the caller (dispose
 * it, or use it inside a tidy scope). The cache is released when the generator finishes, unless
 * it was passed in.
 */
export function* generateStep(
  model: CausalLM,
  prompt: readonly number[],
  options: GenerateStepOptions = {},
): Generator<GeneratedToken> {
  if (prompt.length === 0) throw new Error("generation needs at least one prompt token");
  const maxTokens = options.maxTokens ?? 256;
  const sampler = options.sampler ?? greedy;
  const prefillStep = options.prefillStepSize ?? 2048;
  const ownCache = options.cache === undefined;
  const cache = options.cache ?? model.makeCache();
  const tokens = [...prompt];
  try {
    // Prefill all but the last prompt token, in chunks; the last one starts the loop.
    let position = 0;
    while (prompt.length - position > 1) {
      const chunk = prompt.slice(position, Math.min(position + prefillStep, prompt.length - 1));
      mx.tidy(() => mx.eval(model.call(mx.array([chunk]), cache)));
      position += chunk.length;
    }
    let next = prompt.slice(position);
    for (let n = 0; n < maxTokens; n++) {
      const [token, logprobs] = mx.tidy(() => {
        let logits = mx.index(model.call(mx.array([next]), cache), ":", -1, ":");
        for (const process of options.logitsProcessors ?? []) logits = process(tokens, logits);
        const lp = mx.subtract(logits, mx.logsumexp(logits, { axis: -1, keepdims: true }));
        const chosen = sampler(lp);
        mx.eval(chosen, lp);
        return [chosen.item() as number, mx.squeeze(lp, 0)] as const;
      });
      tokens.push(token);
      yield { token, logprobs };
      next = [token];
    }
  } finally {
    if (ownCache) for (const c of cache) c.dispose();
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
