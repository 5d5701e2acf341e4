// Counterfactual prompts that pull the three retrieval mechanisms of arXiv 2510.06182 ("Mixing
// Mechanisms: How Language Models Retrieve Bound Entities In-Context") apart.
//
// The original prompt binds entities e_0 .. e_{n-1} to attributes a_0 .. a_{n-1} (group j is the
// j-th statement) and asks about e_q, so its answer is a_q. When the question is answered, the last
// token's residual stream carries what the model uses to find the answer; the paper names three
// mechanisms by what that is:
//   - positional: the group's place in the list ("the third statement"): in a prompt where the
//     queried group is at position p, it points at position p of whatever prompt it is read in;
//   - lexical: the queried entity itself ("pen"): it points at the group that binds that entity;
//   - reflexive: the answer attribute itself, a pointer to that token ("G"): it points at the group
//     holding that attribute.
//
// The counterfactual is built from the original and three distinct group indices p, k, i, all
// different from q (so n >= 4):
//   - it has n groups too; at position p it binds e_k (the original's entity of group k) to a_i
//     (the original's attribute of group i), and asks about e_k, so its own answer is a_i;
//   - its other n - 1 groups bind entities the original does not mention to attributes other than
//     a_i (drawn at random), so nothing else in it names the original's groups.
// Patching the counterfactual's last-token residual into the original run, each mechanism predicts
// a different one of the original's attributes:
//   - positional -> a_p (position p of the original),
//   - lexical    -> a_k (the original binds e_k to a_k),
//   - reflexive  -> a_i (the token a_i is in the original, at group i),
//   - no effect  -> a_q (the original's own answer).
// Where the residual already holds the retrieved answer (the last layers), carrying a_i itself
// predicts a_i as well: as in the paper's design, that shows as reflexive.

import { type BindingPrompt, type Draws, makePrompt } from "./prompts.ts";
import type { BindingSchema, BoundPair } from "./schema.ts";

/** The original's group each mechanism points at after the patch (distinct, and none is the query). */
export interface Pointers {
  positional: number;
  lexical: number;
  reflexive: number;
}

/** What each mechanism predicts the patched original answers, and the unpatched answer. */
export interface Predictions {
  positional: string;
  lexical: string;
  reflexive: string;
  noEffect: string;
}

export interface BindingPair {
  original: BindingPrompt;
  counterfactual: BindingPrompt;
  pointers: Pointers;
  predictions: Predictions;
}

/** Three distinct groups of an n-group original, none of them its query, in random roles. */
export function samplePointers(groups: number, query: number, draws: Draws): Pointers {
  if (groups < 4) {
    throw new Error(
      `a counterfactual needs at least 4 groups (the query and three different mechanism targets), got ${groups}`,
    );
  }
  const others = Array.from({ length: groups }, (_, j) => j).filter((j) => j !== query);
  const [positional, lexical, reflexive] = draws.pick(others, 3) as [number, number, number];
  return { positional, lexical, reflexive };
}

/** The counterfactual of `original` for `pointers` (see the top of this file), and the predictions. */
export function counterfactualPair(
  schema: BindingSchema,
  original: BindingPrompt,
  pointers: Pointers,
  draws: Draws,
): BindingPair {
  const n = original.facts.length;
  const { positional: p, lexical: k, reflexive: i } = pointers;
  const indices = [p, k, i];
  if (
    new Set([...indices, original.query]).size !== 4 ||
    indices.some((j) => !Number.isInteger(j) || j < 0 || j >= n)
  ) {
    throw new Error(
      `pointers must be three distinct groups of the ${n}, none the query ${original.query}: got ${JSON.stringify(pointers)}`,
    );
  }
  const group = (j: number) => original.facts[j] as BoundPair;
  const used = new Set(original.facts.map((x) => x.entity));
  const freshEntities = draws.pick(
    schema.entities.filter((e) => !used.has(e)),
    n - 1,
  );
  const otherAttributes = draws.pick(
    schema.attributes.filter((a) => a !== group(i).attribute),
    n - 1,
  );
  const facts: BoundPair[] = [];
  for (let j = 0, other = 0; j < n; j++) {
    if (j === p) facts.push({ entity: group(k).entity, attribute: group(i).attribute });
    else {
      facts.push({ entity: freshEntities[other] as string, attribute: otherAttributes[other] as string });
      other++;
    }
  }
  return {
    original,
    counterfactual: makePrompt(schema, facts, p),
    pointers,
    predictions: {
      positional: group(p).attribute,
      lexical: group(k).attribute,
      reflexive: group(i).attribute,
      noEffect: original.answer,
    },
  };
}
