// The metrics of patching and ablation, computed from final logits in float32 whatever the
// weights' dtype (a float16 softmax over a large vocabulary loses the small probabilities these
// experiments compare). Each takes logits [N, vocab] (one row per run) and gives [N] float32.
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { logProbs } from "./token-loss.ts";

function asRows(logits: MxArray, fn: string): MxArray {
  if (logits.ndim !== 2) {
    throw new Error(`${fn}: logits must be [runs, vocab] (one row per run), got shape [${logits.shape}]`);
  }
  return mx.astype(logits, "float32");
}

function checkToken(token: number, vocab: number, fn: string, what: string): void {
  if (!Number.isInteger(token) || token < 0 || token >= vocab) {
    throw new Error(`${fn}: ${what} ${token} is not a token id of this vocabulary (0 to ${vocab - 1})`);
  }
}

/** logit(answer) - logit(wrong) per row. */
export function logitDifference(logits: MxArray, answer: number, wrong: number): MxArray {
  return mx.tidy(() => {
    const rows = asRows(logits, "logitDifference");
    const vocab = rows.shape[1] as number;
    checkToken(answer, vocab, "logitDifference", "answer");
    checkToken(wrong, vocab, "logitDifference", "wrong answer");
    return mx.subtract(mx.index(rows, ":", answer), mx.index(rows, ":", wrong));
  });
}

// log softmax over the vocabulary, per row [runs, vocab].
function logProbRows(logits: MxArray, fn: string): MxArray {
  return mx.tidy(() => logProbs(asRows(logits, fn)));
}

/** The probability of `token` per row. */
export function tokenProbability(logits: MxArray, token: number): MxArray {
  return mx.tidy(() => {
    checkToken(token, logits.shape[1] as number, "tokenProbability", "token");
    return mx.exp(mx.index(logProbRows(logits, "tokenProbability"), ":", token));
  });
}

/**
 * KL(reference ‖ run) per row: Σ p_ref · (log p_ref - log p_run), in nats; 0 where a row's
 * distribution is the reference's. `reference` is [vocab] or [1, vocab].
 */
export function klDivergence(logits: MxArray, reference: MxArray): MxArray {
  return mx.tidy(() => {
    const rows = logProbRows(logits, "klDivergence");
    const ref = logProbRows(reference.ndim === 1 ? mx.expandDims(reference, 0) : reference, "klDivergence");
    if (ref.shape[0] !== 1 || ref.shape[1] !== rows.shape[1]) {
      throw new Error(
        `klDivergence: the reference must be [vocab] or [1, vocab] with the runs' ${rows.shape[1]} tokens, got shape [${reference.shape}]`,
      );
    }
    return mx.sum(mx.multiply(mx.exp(ref), mx.subtract(ref, rows)), { axis: -1 });
  });
}

/**
 * How far a patched metric moved from the corrupted run towards the clean one, as TransformerLens's
 * patching tutorials normalize: (patched - corrupted) / (clean - corrupted); 1 is fully clean, 0
 * unchanged. NaN where clean equals corrupted (nothing to recover).
 */
export function normalizedRecovery(patched: number, clean: number, corrupted: number): number {
  const span = clean - corrupted;
  return span === 0 ? Number.NaN : (patched - corrupted) / span;
}
