// Contrastive steering: the mean difference of the residual stream between prompts that show a
// property and prompts that do not, added back (times alpha) while the model runs or generates.
import { checkOptions } from "../analysis/cache-source.ts";
import { meanDifference, STEERING_SHARE, suggestedAlpha } from "../analysis/mean-difference.ts";
import type { GenerateTextOptions, TextCompletion, TextGeneration } from "../hooks/generate-text.ts";
import type { Hook, HookContext } from "../hooks/hook-types.ts";
import type { HookedModel, HookOptions, ModelInput } from "../hooks/hooked-model.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";

/**
 * Where the vector is read and added. resid_post (the default): the stream leaving block `layer`,
 * as the layer outputs a steering explorer reads, so the vector holds what layer `layer` itself
 * wrote and steering at the last layer still moves the logits; resid_pre: the stream entering it.
 */
export type SteeringSite = "resid_post" | "resid_pre";
const SITES: readonly SteeringSite[] = ["resid_post", "resid_pre"];

export interface SteeringVectorOptions {
  layer: number;
  /** Read each prompt's last position (default), or the mean over its positions (BOS left out). */
  at?: "last" | "mean";
  site?: SteeringSite;
  prependBos?: boolean;
}

/** mean(positives) - mean(negatives) of the residual stream at one layer, in float32. */
export class SteeringVector {
  constructor(
    /** The direction, [d_model]. */
    readonly vector: Float32Array,
    readonly layer: number,
    readonly site: SteeringSite,
    readonly at: "last" | "mean",
    /** |vector| (L2). */
    readonly norm: number,
    /** The mean L2 norm of the residual vectors the difference was taken from. */
    readonly residualNorm: number,
    readonly positives: number,
    readonly negatives: number,
  ) {}

  /**
   * The alpha at which alpha·vector has half the mean residual norm at this layer
   * (STEERING_SHARE · residualNorm / norm, two significant digits): enough to move the
   * next-token distribution while the stream's own content still dominates.
   */
  get suggestedAlpha(): number {
    return suggestedAlpha(this.norm, this.residualNorm);
  }

  /** The standard key steering adds at (`resid_post.3`). */
  get key(): string {
    return `${this.site}.${this.layer}`;
  }

  toJSON() {
    return {
      layer: this.layer,
      site: this.site,
      at: this.at,
      norm: this.norm,
      residualNorm: this.residualNorm,
      suggestedAlpha: this.suggestedAlpha,
      suggestedShare: STEERING_SHARE,
      positives: this.positives,
      negatives: this.negatives,
      vector: Array.from(this.vector),
    };
  }
}

/**
 * The steering vector of two sets of prompts at `layer`: each prompt's residual at its last
 * position (or its mean over positions), averaged per set, positives minus negatives.
 */
export function steeringVector(
  hm: HookedModel,
  positives: ModelInput,
  negatives: ModelInput,
  options: SteeringVectorOptions,
): SteeringVector {
  const what = "steeringVector";
  checkOptions(options ?? {}, ["layer", "at", "site", "prependBos"], what);
  const site = checkSteeringSite(options.site ?? "resid_post", what);
  const layer = checkLayer(hm, options.layer, what);
  const at = options.at ?? "last";
  if (at !== "last" && at !== "mean")
    throw new Error(`${what}: at must be "last" or "mean", got ${JSON.stringify(at)}`);
  const tokenOptions = options.prependBos === undefined ? {} : { prependBos: options.prependBos };
  const key = `${site}.${layer}`;
  const bos = hm.tokenizer?.bosTokenId;
  // Each prompt's rows: [1, d] at its last position, or [n, d] over its positions without BOS.
  const readRows = (input: ModelInput, name: string): MxArray[] => {
    const prompts = hm.toTokens(input, tokenOptions);
    if (prompts.length === 0) throw new Error(`${what}: give at least one ${name} prompt`);
    const { logits, cache, batch } = hm.runWithCache(prompts, { names: [key] });
    logits.dispose();
    try {
      return prompts.map((ids, b) =>
        mx.keep(
          mx.tidy(() => {
            const own = batch.select(cache.get(key), b); // [L_b, d]
            if (at === "last") return mx.index(own, `${ids.length - 1}:`, ":");
            const from = bos !== undefined && ids[0] === bos && ids.length > 1 ? 1 : 0;
            return mx.index(own, `${from}:`, ":");
          }),
        ),
      );
    } finally {
      cache.dispose();
    }
  };
  const positive = readRows(positives, "positive");
  let negative: MxArray[] = [];
  try {
    negative = readRows(negatives, "negative");
    const { vector, norm, residualNorm } = meanDifference(positive, negative);
    return new SteeringVector(vector, layer, site, at, norm, residualNorm, positive.length, negative.length);
  } finally {
    for (const rows of [...positive, ...negative]) rows.dispose();
  }
}

/**
 * Which positions steering adds at. "all": every position, prompt and generated; "last": the
 * prompt's last position and, in a generation, every token after it; "generated": only tokens a
 * generation produced (from the prompt's length on), so the prompt itself is read unsteered; or
 * positions of the prompt (each prompt's own, negative counting from its end).
 */
export type SteeringPositions = "all" | "last" | "generated" | readonly number[];

export interface SteerOptions {
  alpha: number;
  /** Layers to add at (default: the vector's layer), at the vector's site. */
  layers?: readonly number[];
  positions?: SteeringPositions;
}

/**
 * Hooks that add alpha·vector to the residual stream at `layers` and `positions`: pass them to
 * hm.withHooks, hm.runWithHooks, hm.generateText({ ...hooks }) or hm.addHooks.
 */
export function steeringHooks(
  hm: HookedModel,
  vector: SteeringVector,
  options: SteerOptions,
): Required<Pick<HookOptions, "hooks">> {
  const what = "steer";
  checkOptions(options ?? {}, ["alpha", "layers", "positions"], what);
  if (!(vector instanceof SteeringVector))
    throw new TypeError(`${what}: the vector must be a SteeringVector (from steeringVector)`);
  const width = hm.model.layout.dims.dModel;
  if (vector.vector.length !== width) {
    throw new Error(
      `${what}: the vector has ${vector.vector.length} dimensions; this model's residual stream has ${width}`,
    );
  }
  const { alpha } = options;
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) {
    throw new RangeError(
      `${what}: alpha must be a finite number (the vector's suggestedAlpha is ${vector.suggestedAlpha}), got ${String(alpha)}`,
    );
  }
  const layers = options.layers ?? [vector.layer];
  if (!Array.isArray(layers) || layers.length === 0)
    throw new Error(`${what}: layers must be a non-empty list of layer indices`);
  for (const layer of layers) checkLayer(hm, layer, what);
  const positions = checkPositions(options.positions ?? "all", what);
  const input = vector.site === "resid_pre";
  return {
    hooks: [...new Set(layers)].map((layer) => [
      `${vector.site}.${layer}`,
      addingHook(vector.vector, alpha, positions, input),
    ]),
  };
}

/** Runs fn with the model steered (see steeringHooks); nothing stays on after it returns or throws. */
export function steer<T>(hm: HookedModel, vector: SteeringVector, options: SteerOptions, fn: () => T): T {
  return hm.withHooks(steeringHooks(hm, vector, options), fn);
}

// The hook that adds alpha·direction at the chosen positions of a [B, L, d] residual.
function addingHook(direction: Float32Array, alpha: number, positions: SteeringPositions, input: boolean): Hook {
  // Where each layer cache's sequence is, for caches that do not count positions themselves.
  const counted = new WeakMap<object, number>();
  return (x: MxArray, ctx: HookContext) => {
    const [rows, length] = x.shape as [number, number, number];
    const added = mx.multiply(mx.array(direction), alpha);
    if (positions === "all") return mx.add(x, mx.astype(added, x.dtype));
    const start = sequenceStart(ctx, length, input, counted);
    const promptLength = ctx.tokens?.[0]?.length ?? (start === 0 ? length : undefined);
    if (promptLength === undefined) {
      throw new Error(
        `steering at positions ${JSON.stringify(positions)} needs to know where the prompt ends: run the model through the HookedModel (forward, runWithHooks, generate, generateText)`,
      );
    }
    const padding = ctx.leftPadding ?? [];
    const mask = Array.from({ length: rows }, (_, b) =>
      Array.from({ length }, (_, j) => (steered(positions, start + j, promptLength, padding[b] ?? 0) ? 1 : 0)),
    );
    if (mask.every((row) => row.every((m) => m === 0))) return undefined;
    const scaled = mx.multiply(mx.expandDims(mx.array(mask, "float32"), -1), added); // [B, L, d]
    return mx.add(x, mx.astype(scaled, x.dtype));
  };
}

// Whether padded position p of a row with `pad` pad tokens is steered (promptLength: padded).
function steered(positions: SteeringPositions, p: number, promptLength: number, pad: number): boolean {
  if (positions === "all") return true;
  if (positions === "last") return p >= promptLength - 1;
  if (positions === "generated") return p >= promptLength;
  const own = p - pad;
  const ownLength = promptLength - pad;
  return own >= 0 && positions.some((q) => (q < 0 ? ownLength + q : q) === own);
}

// The position of x's first row in its sequence: from the block's KV cache (which has already
// counted x when an output hook runs), by counting the calls on a cache that keeps no count, or 0
// without a cache (a whole-prompt forward pass).
function sequenceStart(ctx: HookContext, length: number, input: boolean, counted: WeakMap<object, number>): number {
  const cache = ctx.named.cache as { offset?: unknown } | undefined;
  if (cache === undefined || cache === null) return 0;
  if (typeof cache.offset === "number") return input ? cache.offset : cache.offset - length;
  const start = counted.get(cache) ?? 0;
  counted.set(cache, start + length);
  return start;
}

function checkPositions(positions: unknown, what: string): SteeringPositions {
  if (positions === "all" || positions === "last" || positions === "generated") return positions;
  if (Array.isArray(positions) && positions.length > 0 && positions.every((p) => Number.isInteger(p))) {
    return [...positions] as number[];
  }
  throw new Error(
    `${what}: positions must be "all", "last", "generated" or a non-empty list of whole-number positions (negative from the prompt's end), got ${JSON.stringify(positions)}`,
  );
}

function checkSteeringSite(site: unknown, what: string): SteeringSite {
  if ((SITES as readonly unknown[]).includes(site)) return site as SteeringSite;
  throw new Error(`${what}: site must be ${SITES.join(" or ")}, got ${JSON.stringify(site)}`);
}

function checkLayer(hm: HookedModel, layer: unknown, what: string): number {
  if (!Number.isInteger(layer) || (layer as number) < 0 || (layer as number) >= hm.layers) {
    throw new RangeError(
      `${what}: layer must be a whole number from 0 to ${hm.layers - 1}, got ${JSON.stringify(layer)}`,
    );
  }
  return layer as number;
}

export interface CompareSteeringOptions extends Omit<GenerateTextOptions, "hooks" | "preHooks"> {
  /** Default: -s, 0, +s with s the vector's suggested alpha. */
  alphas?: readonly number[];
  layers?: readonly number[];
  positions?: SteeringPositions;
}

/** One generation of a comparison: its alpha and what it made. */
export interface SteeredText {
  alpha: number;
  text: string;
  finishReason: TextCompletion["finishReason"];
  generatedTokens: number;
}

export class SteeringComparison {
  constructor(
    readonly prompt: string | number[],
    readonly vector: SteeringVector,
    readonly positions: SteeringPositions,
    readonly layers: number[],
    readonly generations: SteeredText[],
  ) {}

  /** The generation at alpha 0 (unsteered), if the comparison has one. */
  get baseline(): SteeredText | undefined {
    return this.generations.find((g) => g.alpha === 0);
  }

  toJSON() {
    const { vector, ...rest } = this.vector.toJSON();
    return {
      prompt: this.prompt,
      steering: { ...rest, layers: this.layers, positions: this.positions },
      generations: this.generations,
    };
  }

  toString(): string {
    return this.generations.map((g) => `alpha ${g.alpha}: ${JSON.stringify(g.text)}`).join("\n");
  }
}

/** One generation of a comparison, ready to run: its alpha and its text, generated as it is read. */
export interface SteeredRun {
  alpha: number;
  generation: TextGeneration;
}

/**
 * The generations compareSteering makes, not yet run: one per alpha (default -s, 0, +s), each a
 * TextGeneration under its steering hooks, to read piece by piece (a server streams them) or to the
 * end. Every option is checked before any of them runs.
 */
export function steeredGenerations(
  hm: HookedModel,
  prompt: string | readonly number[],
  vector: SteeringVector,
  options: CompareSteeringOptions = {},
): SteeredRun[] {
  const { alphas, layers, positions = "all", ...generation } = options;
  const s = vector.suggestedAlpha;
  const list = alphas ?? [-s, 0, s];
  if (!Array.isArray(list) || list.length === 0 || list.some((a) => typeof a !== "number" || !Number.isFinite(a))) {
    throw new Error(
      `compareSteering: alphas must be a non-empty list of finite numbers, got ${JSON.stringify(alphas)}`,
    );
  }
  const sampled = (generation.temperature ?? 0) > 0 && generation.key === undefined;
  const textOptions: GenerateTextOptions = {
    maxTokens: 40,
    ...generation,
    ...(sampled && generation.seed === undefined ? { seed: 0 } : {}),
  };
  const hookSets = list.map((alpha) =>
    steeringHooks(hm, vector, { alpha, positions, ...(layers === undefined ? {} : { layers }) }),
  );
  return list.map((alpha, i) => ({ alpha, generation: hm.generateText(prompt, { ...textOptions, ...hookSets[i] }) }));
}

/**
 * The same prompt generated at each alpha (default -s, 0, +s, s the suggested alpha), side by
 * side. Sampling (temperature > 0) uses one seed for every alpha (default 0), so the texts differ
 * by the steering alone.
 */
export function compareSteering(
  hm: HookedModel,
  prompt: string | readonly number[],
  vector: SteeringVector,
  options: CompareSteeringOptions = {},
): SteeringComparison {
  const generations = steeredGenerations(hm, prompt, vector, options).map(({ alpha, generation }) => {
    for (const _ of generation);
    const done = generation.completion as TextCompletion;
    return { alpha, text: done.text, finishReason: done.finishReason, generatedTokens: done.generatedTokens };
  });
  return new SteeringComparison(
    typeof prompt === "string" ? prompt : [...prompt],
    vector,
    options.positions ?? "all",
    [...(options.layers ?? [vector.layer])],
    generations,
  );
}
