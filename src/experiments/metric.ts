// The metric an experiment reads from the last position's logits: a logit difference between an
// answer and a wrong answer, the probability of a token, or the KL divergence from a reference run
// (the clean run when patching, the unablated run when ablating). The math is src/analysis/metrics.ts.
import { klDivergence, logitDifference, tokenProbability } from "../analysis/metrics.ts";
import type { HookedModel } from "../hooks/hooked-model.ts";
import type { MxArray } from "../mx/array.ts";

/** A token as text that is exactly one token, or as an id. */
export type TokenRef = string | number;

export type Metric =
  | { kind: "logitDiff"; answer: TokenRef; wrong: TokenRef }
  | { kind: "prob"; token: TokenRef }
  | { kind: "kl" };

/** A metric with its tokens as ids, ready to read logits. */
export type ResolvedMetric =
  | { kind: "logitDiff"; answer: number; wrong: number }
  | { kind: "prob"; token: number }
  | { kind: "kl" };

const KINDS = ["logitDiff", "prob", "kl"];

/** The metric with its tokens looked up in the model's tokenizer (texts must be one token each). */
export function resolveMetric(hm: HookedModel, metric: Metric): ResolvedMetric {
  if (typeof metric !== "object" || metric === null || !KINDS.includes((metric as { kind: string }).kind)) {
    throw new Error(
      `metric must be { kind: "logitDiff", answer, wrong }, { kind: "prob", token } or { kind: "kl" }, got ${JSON.stringify(metric)}`,
    );
  }
  switch (metric.kind) {
    case "logitDiff":
      return {
        kind: "logitDiff",
        answer: tokenId(hm, metric.answer, "answer"),
        wrong: tokenId(hm, metric.wrong, "wrong"),
      };
    case "prob":
      return { kind: "prob", token: tokenId(hm, metric.token, "token") };
    case "kl":
      return { kind: "kl" };
  }
}

/**
 * The metric of each row of `logits` [N, vocab] (float32 [N]); `reference` [1, vocab] is the run
 * the KL divergence is taken from.
 */
export function readMetric(metric: ResolvedMetric, logits: MxArray, reference: MxArray): MxArray {
  switch (metric.kind) {
    case "logitDiff":
      return logitDifference(logits, metric.answer, metric.wrong);
    case "prob":
      return tokenProbability(logits, metric.token);
    case "kl":
      return klDivergence(logits, reference);
  }
}

function tokenId(hm: HookedModel, token: TokenRef, what: string): number {
  const vocab = hm.model.layout.dims.vocabSize;
  if (typeof token === "number") {
    if (!Number.isInteger(token) || token < 0 || token >= vocab) {
      throw new Error(`metric ${what}: ${token} is not a token id of this model (0 to ${vocab - 1})`);
    }
    return token;
  }
  if (typeof token !== "string") throw new Error(`metric ${what} must be a token text or id, got ${typeof token}`);
  if (hm.tokenizer === undefined)
    throw new Error(`metric ${what} "${token}": this model has no tokenizer; give a token id`);
  const ids = hm.tokenizer.encode(token, { addSpecialTokens: false });
  if (ids.length !== 1) {
    throw new Error(
      `metric ${what} "${token}" is ${ids.length} tokens (${ids.join(", ")}), not one; give one token or its id`,
    );
  }
  return ids[0] as number;
}
