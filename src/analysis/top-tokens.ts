// The k highest logits of each row with their token ids and probabilities, for reading a
// prediction off logits (the model's, or a lens's).
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";

/** One candidate token: its id, its logit, and its probability under the softmax over the vocabulary. */
export interface TopToken {
  id: number;
  logit: number;
  prob: number;
}

/**
 * The k most likely tokens of each row of logits [..., vocab]: one list per row, rows in
 * row-major order of the leading axes (one list for a single row [vocab]). Probabilities are the
 * softmax over the whole vocabulary, in float32.
 */
export function topTokens(logits: MxArray, k: number): TopToken[][] {
  if (!(logits instanceof mx.Array) || logits.ndim < 1) {
    throw new TypeError("topTokens: logits must be an Array [..., vocab]");
  }
  const vocab = logits.shape[logits.ndim - 1] as number;
  checkK(k, vocab, "topTokens");
  const [ids, values, probs] = mx.tidy(() => {
    const rows = mx.reshape(mx.astype(logits, "float32"), [-1, vocab]);
    const top = mx.argtopk(rows, k); // equal logits in id order
    const topLogits = mx.takeAlongAxis(rows, top, -1);
    const logNorm = mx.logsumexp(rows, { axis: -1, keepdims: true });
    return [top, topLogits, mx.exp(mx.subtract(topLogits, logNorm))];
  });
  try {
    const idRows = ids.tolist() as number[][];
    const logitRows = values.tolist() as number[][];
    const probRows = probs.tolist() as number[][];
    return idRows.map((row, r) =>
      row.map((id, j) => ({ id, logit: logitRows[r]?.[j] as number, prob: probRows[r]?.[j] as number })),
    );
  } finally {
    ids.dispose();
    values.dispose();
    probs.dispose();
  }
}

function checkK(k: number, vocab: number, what: string): void {
  if (!Number.isInteger(k) || k < 1 || k > vocab) {
    throw new RangeError(`${what}: k must be an integer from 1 to the vocabulary size ${vocab}, got ${k}`);
  }
}
