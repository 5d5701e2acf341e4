// Log-probabilities and the next-token loss, in float32 whatever the logits' dtype (in float16 a
// loss of 4.0965 reads 4.0938).
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";

/** log softmax over the last axis, in float32: logits [..., vocab] → [..., vocab]. */
export function logProbs(logits: MxArray): MxArray {
  checkLogits(logits, "logProbs");
  return mx.tidy(() => {
    const x = mx.astype(logits, "float32");
    return mx.subtract(x, mx.logsumexp(x, { axis: -1, keepdims: true }));
  });
}

export interface TokenLoss {
  /** The mean of perToken over every predicted position (and prompt). */
  mean: number;
  /** -log p(token t+1 | tokens ..t) at each position t but the last: [batch, positions - 1] (float32; the caller owns it). */
  perToken: MxArray;
}

/**
 * The next-token cross-entropy of `tokens` under `logits`: position t's logits predict token t + 1.
 * logits [batch, positions, vocab] with tokens [batch][positions] (or [positions, vocab] with
 * [positions]: one prompt).
 */
export function tokenLoss(
  logits: MxArray,
  tokens: MxArray | readonly number[] | readonly (readonly number[])[],
): TokenLoss {
  const what = "tokenLoss";
  checkLogits(logits, what);
  const ids = tokenIds(tokens, what);
  if (logits.ndim !== 2 && logits.ndim !== 3) {
    ids.dispose();
    throw new Error(`${what}: logits must be [batch, positions, vocab] or [positions, vocab], got [${logits.shape}]`);
  }
  const [batch, positions, vocab] = (logits.ndim === 3 ? logits.shape : [1, ...logits.shape]) as [
    number,
    number,
    number,
  ];
  const idShape = ids.ndim === 1 ? [1, ids.shape[0]] : ids.shape;
  if (idShape[0] !== batch || idShape[1] !== positions) {
    ids.dispose();
    throw new Error(`${what}: tokens [${ids.shape}] do not match logits [${logits.shape}]: give one id per position`);
  }
  const highest = mx.tidy(() => mx.max(ids).item() as number);
  if (highest >= vocab) {
    ids.dispose();
    throw new RangeError(`${what}: token id ${highest} is outside the vocabulary of ${vocab}`);
  }
  if (positions < 2) {
    ids.dispose();
    throw new Error(`${what}: the loss needs at least 2 positions (a token to predict), got ${positions}`);
  }
  try {
    const perToken = mx.tidy(() => {
      const lp = logProbs(mx.reshape(logits, [batch, positions, vocab]));
      const predicted = mx.index(lp, ":", { stop: -1 }, ":");
      const next = mx.expandDims(mx.index(mx.reshape(ids, [batch, positions]), ":", { start: 1 }), -1);
      return mx.negative(mx.squeeze(mx.takeAlongAxis(predicted, next, -1), -1));
    });
    const mean = mx.tidy(() => mx.mean(perToken).item() as number);
    return { mean, perToken };
  } finally {
    ids.dispose();
  }
}

function checkLogits(logits: MxArray, what: string): void {
  if (!(logits instanceof mx.Array) || logits.ndim < 1 || !["float32", "float16", "bfloat16"].includes(logits.dtype)) {
    throw new TypeError(`${what}: logits must be a floating-point Array [..., vocab]`);
  }
}

function tokenIds(tokens: MxArray | readonly number[] | readonly (readonly number[])[], what: string): MxArray {
  if (tokens instanceof mx.Array) {
    if (!tokens.dtype.startsWith("int") && !tokens.dtype.startsWith("uint")) {
      throw new TypeError(`${what}: tokens must be integer ids, got an Array of ${tokens.dtype}`);
    }
    return mx.astype(tokens, "int32");
  }
  const flat = [tokens].flat(2) as unknown[];
  if (!flat.every((t) => Number.isInteger(t) && (t as number) >= 0)) {
    throw new TypeError(`${what}: tokens must be non-negative integer ids ([positions] or [batch][positions])`);
  }
  return mx.array(tokens as number[][], "int32");
}
