// What a patched run's answer says about the mechanism the patch moved: the answer each mechanism
// predicts (counterfactuals.ts) against the patched run's most probable next token.

export const OUTCOMES = ["positional", "lexical", "reflexive", "mixed", "noEffect", "other"] as const;
/**
 * positional / lexical / reflexive / noEffect: the patched run's top token is that prediction's
 * attribute and holds at least the threshold of the probability; mixed: no token holds that much
 * (the mass is split, usually between the mechanisms' answers); other: a token no mechanism
 * predicts holds it.
 */
export type Outcome = (typeof OUTCOMES)[number];

/** The token id each prediction names. */
export interface PredictedIds {
  positional: number;
  lexical: number;
  reflexive: number;
  noEffect: number;
}

export function classifyOutcome(top: number, topProb: number, predicted: PredictedIds, threshold: number): Outcome {
  if (topProb < threshold) return "mixed";
  if (top === predicted.positional) return "positional";
  if (top === predicted.lexical) return "lexical";
  if (top === predicted.reflexive) return "reflexive";
  if (top === predicted.noEffect) return "noEffect";
  return "other";
}

/** The fraction of outcomes of each kind (all 0 for no outcomes). */
export function outcomeFractions(outcomes: readonly Outcome[]): Record<Outcome, number> {
  const fractions = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const o of outcomes) fractions[o] += 1;
  for (const o of OUTCOMES) if (outcomes.length > 0) fractions[o] /= outcomes.length;
  return fractions;
}

/** The outcome with the largest fraction (the first of OUTCOMES on a tie). */
export function mostCommon(fractions: Record<Outcome, number>): Outcome {
  return OUTCOMES.reduce((best, o) => (fractions[o] > fractions[best] ? o : best), OUTCOMES[0]);
}
