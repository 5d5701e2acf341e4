// Which mechanism carries a bound entity's answer at each layer (arXiv 2510.06182): seeded binding
// prompts, counterfactuals that pull the positional, lexical and reflexive mechanisms apart
// (counterfactuals.ts), the last token's residual patched from each counterfactual into its original
// at every layer (last-token-patching.ts), each patched answer classified (outcomes.ts), and the
// paper's causal model fitted to the patched distributions per layer (causal-model.ts).
import { checkOptions } from "../../analysis/cache-source.ts";
import type { HookedModel } from "../../hooks/hooked-model.ts";
import { siteLayers } from "../sites.ts";
import { type CausalModelFit, type FitSample, fitCausalModel } from "./causal-model.ts";
import {
  type BindingPair,
  counterfactualPair,
  type Pointers,
  type Predictions,
  samplePointers,
} from "./counterfactuals.ts";
import { BINDING_SITES, type BindingSite, type LastTokenReadout, patchLastToken } from "./last-token-patching.ts";
import { classifyOutcome, mostCommon, OUTCOMES, type Outcome, outcomeFractions } from "./outcomes.ts";
import { type BindingPrompt, sampleOriginal, seededDraws } from "./prompts.ts";
import { answerTokenIds, type BindingSchema, BOX_SCHEMA, checkSchema } from "./schema.ts";

export interface BindingOptions {
  /** How the prompts are worded (default BOX_SCHEMA, the phrasing of fixtures/entity-binding). */
  schema?: BindingSchema;
  /** Prompt pairs (original and counterfactual) to run (default 64). */
  pairs?: number;
  /** Bound groups per prompt, each pair drawing one of these (default [4, 5]; at least 4, see counterfactuals.ts). */
  groups?: readonly number[];
  /** Seed of the prompts (default 0). */
  seed?: number;
  /** resid_pre (default: the stream entering each layer) or resid_post (leaving it), at the last token. */
  site?: BindingSite;
  /** Layers patched (default all). */
  layers?: readonly number[];
  /** Probability the patched top token needs to count as one mechanism's answer (default 0.5; below: mixed). */
  threshold?: number;
  /**
   * Count only the pairs whose original and counterfactual the model answers right (default true,
   * as the paper filters): elsewhere no mechanism is known to be at work.
   */
  onlyCorrect?: boolean;
  /** Most prompts per forward pass (default 32). */
  batchSize?: number;
  /**
   * Compute what comes before the last token once per batch and run only the last token per layer
   * (default true; models whose caches are not all key/value caches always run whole prompts).
   */
  sharePrefix?: boolean;
}

/** One prompt pair's run: what was patched, what each mechanism predicts, and the patched answers. */
export interface BindingPairResult {
  original: BindingPrompt;
  counterfactual: BindingPrompt;
  pointers: Pointers;
  predictions: Predictions;
  /** Whether the model answers the original / the counterfactual right, unpatched. */
  originalCorrect: boolean;
  counterfactualCorrect: boolean;
  /** Whether it counts in the fractions and the fit (see onlyCorrect). */
  counted: boolean;
  /** Per layer patched: the top token, its probability, the outcome, the probabilities of the original's attributes in group order. */
  patched: { top: string; topProb: number; outcome: Outcome; attributeProbs: number[] }[];
}

export interface BindingLayer {
  layer: number;
  /** Fraction of the counted pairs with each outcome. */
  fractions: Record<Outcome, number>;
  /** The most common outcome: the mechanism that carries the answer here (or noEffect / mixed / other). */
  carrier: Outcome;
  /** The causal model fitted to this layer's patched distributions (null with no counted pair). */
  fit: CausalModelFit | null;
}

export class BindingResult {
  constructor(
    readonly schema: string,
    readonly site: BindingSite,
    readonly threshold: number,
    readonly seed: number,
    /** Unpatched accuracy over every pair: originals and counterfactuals. */
    readonly accuracy: { original: number; counterfactual: number },
    /** How many pairs count in the fractions and the fit. */
    readonly counted: number,
    readonly layers: BindingLayer[],
    readonly pairs: BindingPairResult[],
  ) {}

  /** The layer's row (a layer that was patched). */
  layer(layer: number): BindingLayer {
    const row = this.layers.find((l) => l.layer === layer);
    if (row === undefined) {
      throw new Error(
        `layer ${layer} was not patched; the result has layers ${this.layers.map((l) => l.layer).join(", ")}`,
      );
    }
    return row;
  }

  toJSON() {
    return {
      schema: this.schema,
      site: this.site,
      threshold: this.threshold,
      seed: this.seed,
      accuracy: this.accuracy,
      counted: this.counted,
      layers: this.layers,
      pairs: this.pairs,
    };
  }

  /** The per-layer outcome fractions, and the causal model fitted per layer, as tables. */
  toString(): string {
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    const num = (x: number) => x.toFixed(2);
    const table = (header: string[], rows: string[][]) =>
      [header, ...rows].map((cells) => cells.map((c, i) => (i === 0 ? c.padEnd(13) : c.padStart(10))).join(" "));
    const summary =
      `binding mechanisms (${this.schema}, seed ${this.seed}): ${this.counted} of ${this.pairs.length} pairs counted; ` +
      `unpatched accuracy: original ${pct(this.accuracy.original)}, counterfactual ${pct(this.accuracy.counterfactual)}`;
    const outcomes = table(
      ["patched", ...OUTCOMES, "carrier"],
      this.layers.map((l) => [`${this.site}.${l.layer}`, ...OUTCOMES.map((o) => pct(l.fractions[o])), l.carrier]),
    );
    const fits = table(
      ["causal model", "w_pos", "sigma", "w_lex", "w_ref", "w_orig", "JS dist"],
      this.layers.map((l) => {
        const f = l.fit;
        if (f === null) return [`${this.site}.${l.layer}`, "-", "-", "-", "-", "-", "-"];
        const p = f.params;
        return [
          `${this.site}.${l.layer}`,
          num(p.positionalWeight),
          num(p.sigma),
          num(p.lexicalWeight),
          num(p.reflexiveWeight),
          num(p.originalWeight),
          f.jsDistance.toFixed(3),
        ];
      }),
    );
    return [summary, "", ...outcomes, "", ...fits].join("\n");
  }
}

const OPTIONS = [
  "schema",
  "pairs",
  "groups",
  "seed",
  "site",
  "layers",
  "threshold",
  "onlyCorrect",
  "batchSize",
  "sharePrefix",
];

/**
 * Runs the binding-mechanisms experiment: `pairs` seeded prompt pairs, the last token's residual
 * patched from each counterfactual into its original at every layer, the outcome fractions and the
 * causal model's fit per layer. Runs inside the HookedModel's own hooks (hm.withHooks); nothing to
 * dispose.
 */
export function bindingMechanisms(hm: HookedModel, options: BindingOptions = {}): BindingResult {
  const what = "bindingMechanisms";
  checkOptions(options, OPTIONS, what);
  const count = options.pairs ?? 64;
  if (!Number.isInteger(count) || count < 1) throw new Error(`${what}: pairs must be a positive integer, got ${count}`);
  const groupCounts = options.groups ?? [4, 5];
  if (
    !Array.isArray(groupCounts) ||
    groupCounts.length === 0 ||
    groupCounts.some((g) => !Number.isInteger(g) || g < 4)
  ) {
    throw new Error(
      `${what}: groups must be a non-empty list of whole numbers of at least 4 (the query and three different mechanism targets), got ${JSON.stringify(groupCounts)}`,
    );
  }
  const schema = checkSchema(options.schema ?? BOX_SCHEMA, Math.max(...groupCounts));
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`${what}: seed must be a non-negative integer, got ${seed}`);
  const site = options.site ?? "resid_pre";
  if (!BINDING_SITES.includes(site)) {
    throw new Error(`${what}: site must be ${BINDING_SITES.join(" or ")}, got ${JSON.stringify(site)}`);
  }
  const layers = siteLayers(hm, site, options.layers);
  if (new Set(layers).size !== layers.length) throw new Error(`${what}: layers lists a layer twice`);
  const threshold = options.threshold ?? 0.5;
  if (typeof threshold !== "number" || !(threshold > 0 && threshold <= 1)) {
    throw new Error(`${what}: threshold must be a probability in (0, 1], got ${threshold}`);
  }
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`${what}: batchSize must be a positive integer, got ${batchSize}`);
  }
  const onlyCorrect = options.onlyCorrect ?? true;
  if (typeof onlyCorrect !== "boolean")
    throw new Error(`${what}: onlyCorrect must be true or false, got ${onlyCorrect}`);
  const sharePrefix = options.sharePrefix ?? true;
  if (typeof sharePrefix !== "boolean")
    throw new Error(`${what}: sharePrefix must be true or false, got ${sharePrefix}`);
  if (hm.tokenizer === undefined) throw new Error(`${what}: the model needs a tokenizer to build its prompts`);
  const tokenizer = hm.tokenizer;
  const answerIds = answerTokenIds(schema, tokenizer);
  const idOf = (attribute: string) => answerIds.get(attribute) as number;

  // Each pair's choices: its group count, the original's entities, attributes and query, the
  // pointers, the counterfactual's new entities and attributes.
  const maxGroups = Math.max(...groupCounts);
  const draws = seededDraws(seed, count, 4 * maxGroups + 4);
  const pairs: BindingPair[] = draws.map((d) => {
    const groups = groupCounts[d.int(groupCounts.length)] as number;
    const original = sampleOriginal(schema, groups, d);
    return counterfactualPair(schema, original, samplePointers(groups, original.query, d), d);
  });

  const encode = (text: string) => hm.toTokens(text)[0] as number[];
  const candidates = pairs.map((p) => p.original.facts.map((x) => idOf(x.attribute)));
  const run = hm.withHooks({}, () =>
    patchLastToken(
      hm,
      pairs.map((p) => encode(p.original.text)),
      pairs.map((p) => encode(p.counterfactual.text)),
      candidates,
      site,
      layers,
      batchSize,
      sharePrefix,
    ),
  );

  const text = (id: number) => tokenizer.decode([id]);
  const results: BindingPairResult[] = pairs.map((pair, b) => {
    const originalCorrect = run.original.top[b] === idOf(pair.original.answer);
    const counterfactualCorrect = run.counterfactual.top[b] === idOf(pair.counterfactual.answer);
    const predicted = {
      positional: idOf(pair.predictions.positional),
      lexical: idOf(pair.predictions.lexical),
      reflexive: idOf(pair.predictions.reflexive),
      noEffect: idOf(pair.predictions.noEffect),
    };
    return {
      ...pair,
      originalCorrect,
      counterfactualCorrect,
      counted: !onlyCorrect || (originalCorrect && counterfactualCorrect),
      patched: run.patched.map((readout: LastTokenReadout) => {
        const top = readout.top[b] as number;
        const topProb = readout.topProb[b] as number;
        return {
          top: text(top),
          topProb,
          outcome: classifyOutcome(top, topProb, predicted, threshold),
          attributeProbs: readout.candidates[b] as number[],
        };
      }),
    };
  });

  const counted = results.filter((r) => r.counted);
  const rows = layers.map((layer, i): BindingLayer => {
    const fractions = outcomeFractions(
      counted.map((r) => (r.patched[i] as BindingPairResult["patched"][number]).outcome),
    );
    // The patched distribution over the original's attributes, renormalized (pairs whose patched
    // run puts no representable probability on any of them, if any, have nothing to fit).
    const samples: FitSample[] = counted.flatMap((r) => {
      const probs = (r.patched[i] as BindingPairResult["patched"][number]).attributeProbs;
      const total = probs.reduce((a, x) => a + x, 0);
      if (!(total > 0)) return [];
      const sample = { groups: r.original.facts.length, ...r.pointers, original: r.original.query };
      return [{ ...sample, target: probs.map((x) => x / total) }];
    });
    return { layer, fractions, carrier: mostCommon(fractions), fit: fitCausalModel(samples) };
  });
  const share = (f: (r: BindingPairResult) => boolean) => results.filter(f).length / results.length;
  return new BindingResult(
    schema.name,
    site,
    threshold,
    seed,
    { original: share((r) => r.originalCorrect), counterfactual: share((r) => r.counterfactualCorrect) },
    counted.length,
    rows,
    results,
  );
}
