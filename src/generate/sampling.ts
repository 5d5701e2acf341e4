// Choosing the next token from log-probabilities, with mlx-lm's samplers and their math
// (mlx_lm/sample_utils.py): greedy, temperature, top-k, top-p, min-p, repetition penalty.
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";

/** Log-probabilities [B, V] in, token ids [B] out. */
export type Sampler = (logprobs: MxArray) => MxArray;

export interface SamplingOptions {
  /** 0 (the default) picks the most likely token. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  minTokensToKeep?: number;
  /** A PRNG key for reproducible sampling; without one the global MLX generator is used. */
  key?: MxArray;
}

const NEG_INF = Number.NEGATIVE_INFINITY;

export function greedy(logprobs: MxArray): MxArray {
  return mx.argmax(logprobs, { axis: -1 });
}

function topK(logprobs: MxArray, k: number): MxArray {
  const vocab = logprobs.shape.at(-1) as number;
  if (!Number.isInteger(k) || k <= 0 || k >= vocab)
    throw new RangeError(`topK must be an integer in (0, ${vocab}), got ${k}`);
  return mx.tidy(() => {
    const dropped = mx.index(mx.argpartition(mx.negative(logprobs), k - 1, -1), "...", `${k}:`);
    return mx.putAlongAxis(logprobs, dropped, mx.array(NEG_INF, logprobs.dtype), -1);
  });
}

function topP(logprobs: MxArray, p: number): MxArray {
  return mx.tidy(() => {
    const sorted = mx.sort(logprobs, -1);
    const probs = mx.exp(mx.astype(sorted, "float32"));
    const massAbove = mx.cumsum(probs, { axis: -1, reverse: true, inclusive: false });
    const total = mx.add(mx.index(massAbove, "...", ":1"), mx.index(probs, "...", ":1"));
    const dropped = mx.sum(mx.greaterEqual(massAbove, mx.multiply(p, total)), { axis: -1, keepdims: true });
    const threshold = mx.takeAlongAxis(sorted, dropped, -1);
    return mx.where(mx.less(logprobs, threshold), NEG_INF, logprobs);
  });
}

function minP(logprobs: MxArray, p: number, keep: number): MxArray {
  return mx.tidy(() => {
    // Tokens below p times the top token's probability are dropped, keeping at least `keep`.
    const scaledMin = mx.add(mx.max(logprobs, { axis: -1, keepdims: true }), Math.log(p));
    let remove = mx.less(logprobs, scaledMin);
    if (keep > 1) {
      const top = mx.index(mx.argpartition(logprobs, -keep, -1), "...", `${-keep}:`);
      remove = mx.putAlongAxis(remove, top, mx.array(false), -1);
    }
    return mx.where(remove, NEG_INF, logprobs);
  });
}

/** A sampler for the options (greedy when temperature is 0 or absent). */
export function makeSampler(options: SamplingOptions = {}): Sampler {
  const temperature = options.temperature ?? 0;
  if (!(temperature >= 0)) throw new RangeError(`temperature must be >= 0, got ${temperature}`);
  if (temperature === 0) return greedy;
  const { topP: p = 0, minP: m = 0, topK: k = 0, minTokensToKeep = 1 } = options;
  if (m < 0 || m > 1) throw new RangeError(`minP must be in [0, 1], got ${m}`);
  // With a key, each draw takes a fresh subkey (reusing one key would repeat the same draw).
  let key = options.key ? mx.keep(mx.copy(options.key)) : undefined;
  const nextKey = (): MxArray | undefined => {
    if (!key) return undefined;
    const [carry, draw] = mx.unstack(mx.random.split(key)) as [MxArray, MxArray];
    key.dispose();
    key = mx.keep(carry);
    return draw;
  };
  return (logprobs) =>
    mx.tidy(() => {
      let filtered = logprobs;
      if (p > 0 && p < 1) filtered = topP(filtered, p);
      if (m !== 0) filtered = minP(filtered, m, minTokensToKeep);
      if (k > 0) filtered = topK(filtered, k);
      const scaled = mx.multiply(filtered, 1 / temperature);
      const draw = nextKey();
      return mx.random.categorical(scaled, draw ? { key: draw } : {});
    });
}

/** Divides positive (multiplies negative) logits of tokens seen in the last `contextSize` by `penalty`. */
export function repetitionPenalty(penalty: number, contextSize = 20): (tokens: number[], logits: MxArray) => MxArray {
  if (!(penalty >= 0)) throw new RangeError(`repetition penalty must be >= 0, got ${penalty}`);
  return (tokens, logits) => {
    if (tokens.length === 0) return logits;
    return mx.tidy(() => {
      const recent = tokens.slice(-contextSize);
      const selected = mx.index(logits, ":", [recent]);
      const penalized = mx.where(mx.less(selected, 0), mx.multiply(selected, penalty), mx.divide(selected, penalty));
      return mx.at(logits, ":", [recent]).set(penalized);
    });
  };
}
