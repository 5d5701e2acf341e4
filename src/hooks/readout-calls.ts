// The readout as HookedModel methods (hm.unembed, hm.topTokens, hm.loss, hm.logProbs): what each
// takes (logits, residual vectors, or input to run), turned into calls of src/analysis/.

import { logProbs, tokenLoss } from "../analysis/token-loss.ts";
import { type TopToken, topTokens } from "../analysis/top-tokens.ts";
import { unembed } from "../analysis/unembed.ts";
import type { MxArray } from "../mx/array.ts";
import { isFloating } from "../mx/dtype.ts";
import * as mx from "../mx/index.ts";
import { checkOptionKeys, keysOf } from "../nn/option-keys.ts";
import type { HookedModel, ModelInput, TokenOptions } from "./hooked-model.ts";

/** A candidate token with its text (where the model has a tokenizer). */
export interface NamedTopToken extends TopToken {
  token?: string;
}

export interface LossOptions extends TokenOptions {
  /** Return each position's loss [batch, positions - 1] (an Array the caller owns) instead of the mean. */
  perToken?: boolean;
}

const TOKEN_KEYS = keysOf<TokenOptions>({ prependBos: true });
export const LOSS_KEYS = keysOf<LossOptions>({ prependBos: true, perToken: true });

/**
 * The k most likely tokens of each row of `x`: logits [..., vocab], or residual vectors [...,
 * d_model] (unembedded first, as hm.unembed does). One list per row (one list for a single row).
 */
export function namedTopTokens(hm: HookedModel, x: MxArray, k: number): NamedTopToken[][] {
  if (!(x instanceof mx.Array) || x.ndim < 1 || !isFloating(x.dtype)) {
    throw new TypeError("topTokens: give logits [..., vocab] or residual vectors [..., d_model] as a float Array");
  }
  const { vocabSize, dModel } = hm.model.layout.dims;
  const width = x.shape[x.ndim - 1];
  if (width === vocabSize && width === dModel) {
    throw new Error(
      `topTokens: this model's vocabulary and residual stream are both ${width} wide; pass hm.unembed(x) for residual vectors`,
    );
  }
  if (width !== vocabSize && width !== dModel) {
    throw new Error(
      `topTokens: x is [${x.shape}]; its last axis must be the vocabulary (${vocabSize}: logits) or the residual stream (${dModel})`,
    );
  }
  const rows = width === vocabSize ? topTokens(x, k) : mx.tidy(() => topTokens(unembed(hm.readout, x), k));
  const { tokenizer } = hm;
  if (tokenizer === undefined) return rows;
  return rows.map((row) => row.map((t) => ({ ...t, token: tokenizer.decode([t.id]) })));
}

/** The next-token loss of the input: the mean over every predicted position, or each position's. */
export function inputLoss(hm: HookedModel, input: ModelInput, options: LossOptions = {}): number | MxArray {
  checkOptionKeys(options, LOSS_KEYS, "loss");
  const tokens = hm.toTokens(input, {
    ...(options.prependBos === undefined ? {} : { prependBos: options.prependBos }),
  });
  const length = (tokens[0] as number[]).length;
  if (tokens.some((row) => row.length !== length)) {
    throw new Error("loss: the prompts differ in length (padding would count as text); call loss for each prompt");
  }
  const logits = hm.forward(tokens);
  try {
    const { mean, perToken } = tokenLoss(logits, tokens);
    if (options.perToken) return perToken;
    perToken.dispose();
    return mean;
  } finally {
    logits.dispose();
  }
}

/** log softmax in float32 of logits given, or of the logits of the input run. */
export function inputLogProbs(hm: HookedModel, input: ModelInput | MxArray, options: TokenOptions = {}): MxArray {
  checkOptionKeys(options, TOKEN_KEYS, "logProbs");
  if (input instanceof mx.Array && isFloating(input.dtype)) return logProbs(input);
  const logits = hm.forward(input, options);
  try {
    return logProbs(logits);
  } finally {
    logits.dispose();
  }
}
