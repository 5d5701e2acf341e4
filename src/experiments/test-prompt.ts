// How well the model predicts a given answer after a prompt (TransformerLens's test_prompt): the
// rank and probability of each answer token where the model predicts it, and the top candidates
// there.
import { checkOptions } from "../analysis/cache-source.ts";
import { topTokens } from "../analysis/top-tokens.ts";
import type { HookedModel, TokenOptions } from "../hooks/hooked-model.ts";
import * as mx from "../mx/index.ts";
import type { LensToken } from "./logit-lens.ts";
import { decodeEach } from "./token-text.ts";

export interface TestPromptOptions extends TokenOptions {
  /** Candidates shown at each answer position (default 10). */
  k?: number;
  /** Put a space before the answer unless it starts with one (default true, as TransformerLens). */
  prependSpaceToAnswer?: boolean;
}

/** One answer token where the model predicts it. */
export interface AnswerToken {
  id: number;
  token: string;
  /** How many tokens the model gives a higher logit (0: its top prediction). */
  rank: number;
  logit: number;
  prob: number;
  /** The k most likely tokens at that position. */
  top: LensToken[];
}

export class TestPromptResult {
  readonly promptTokens: string[];
  readonly answerTokens: string[];
  readonly answers: AnswerToken[];

  constructor(promptTokens: string[], answerTokens: string[], answers: AnswerToken[]) {
    this.promptTokens = promptTokens;
    this.answerTokens = answerTokens;
    this.answers = answers;
  }

  toJSON() {
    return { promptTokens: this.promptTokens, answerTokens: this.answerTokens, answers: this.answers };
  }

  /** As TransformerLens prints it. */
  toString(): string {
    const list = (tokens: string[]) => `[${tokens.map((t) => `'${t}'`).join(", ")}]`;
    const line = (t: { logit: number; prob: number; token?: string }) =>
      `Logit: ${t.logit.toFixed(2)} Prob: ${(t.prob * 100).toFixed(2).padStart(5)}% Token: |${t.token}|`;
    const lines = [`Tokenized prompt: ${list(this.promptTokens)}`, `Tokenized answer: ${list(this.answerTokens)}`];
    for (const answer of this.answers) {
      lines.push("Performance on answer token:", `Rank: ${String(answer.rank).padEnd(6)} ${line(answer)}`);
      for (const [i, t] of answer.top.entries()) lines.push(`Top ${i}th token. ${line(t)}`);
    }
    lines.push(`Ranks of the answer tokens: [${this.answers.map((a) => `('${a.token}', ${a.rank})`).join(", ")}]`);
    return lines.join("\n");
  }
}

/**
 * Runs prompt + answer once and reads, at each position that predicts an answer token, that token's
 * rank, logit and probability (float32 softmax over the vocabulary) and the top k there.
 */
export function testPrompt(
  hm: HookedModel,
  prompt: string,
  answer: string,
  options: TestPromptOptions = {},
): TestPromptResult {
  const what = "testPrompt";
  checkOptions(options, ["k", "prependSpaceToAnswer", "prependBos"], what);
  const { tokenizer } = hm;
  if (tokenizer === undefined)
    throw new Error(`${what}: the model was loaded without a tokenizer; it needs one to read the prompt and answer`);
  if (typeof prompt !== "string" || typeof answer !== "string" || answer.length === 0) {
    throw new TypeError(`${what}: the prompt and the answer must be texts, the answer not empty`);
  }
  const spaced = (options.prependSpaceToAnswer ?? true) && !answer.startsWith(" ") ? ` ${answer}` : answer;
  const promptIds = hm.toTokens(
    prompt,
    options.prependBos === undefined ? {} : { prependBos: options.prependBos },
  )[0] as number[];
  const answerIds = tokenizer.encode(spaced, { addSpecialTokens: false });
  if (answerIds.length === 0) throw new Error(`${what}: the answer ${JSON.stringify(answer)} encodes to no tokens`);
  const logits = hm.forward([[...promptIds, ...answerIds]]);
  try {
    // Position p's logits predict token p + 1: the answer's are the last answerIds.length positions but one.
    const start = promptIds.length - 1;
    const rows = mx.tidy(() => mx.astype(mx.index(logits, 0, { start, stop: start + answerIds.length }), "float32"));
    const tops = topTokens(rows, options.k ?? 10);
    const answers = mx.tidy(() => {
      const ids = mx.reshape(mx.array(answerIds, "int32"), [-1, 1]);
      const own = mx.takeAlongAxis(rows, ids, -1); // [answers, 1]
      const rank = mx.sum(mx.greater(rows, own), { axis: -1 });
      const prob = mx.exp(mx.subtract(own, mx.logsumexp(rows, { axis: -1, keepdims: true })));
      const [ranks, logitValues, probs] = [rank, own, prob].map((a) => mx.reshape(a, [-1]).tolist() as number[]);
      return answerIds.map((id, i) => ({
        id,
        token: tokenizer.decode([id]),
        rank: ranks?.[i] as number,
        logit: logitValues?.[i] as number,
        prob: probs?.[i] as number,
        top: (tops[i] ?? []).map((t) => ({ ...t, token: tokenizer.decode([t.id]) })),
      }));
    });
    rows.dispose();
    return new TestPromptResult(decodeEach(tokenizer, promptIds), decodeEach(tokenizer, answerIds), answers);
  } finally {
    logits.dispose();
  }
}
