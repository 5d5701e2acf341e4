// Activation patching: run one prompt with a site's activation at one (layer, position), or one
// (layer, head), taken from another prompt's run, and read a metric at the last position.
// Denoising runs the corrupted prompt with clean activations put in; noising runs the clean prompt
// with corrupted ones. Prompts of different lengths are aligned by explicit position pairs.
import { normalizedRecovery } from "../analysis/metrics.ts";
import { type TopToken, topTokens } from "../analysis/top-tokens.ts";
import type { HookedModel, ModelInput } from "../hooks/hooked-model.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { checkOptionKeys, keysOf } from "../nn/option-keys.ts";
import { type Edit, passedRunOptions, runEdits } from "./batched-edits.ts";
import { type Metric, readMetric, resolveMetric } from "./metric.ts";
import { checkPositions, checkSite, HEAD_SITE, onePrompt, type Site, siteLayers } from "./sites.ts";

export type PatchDirection = "denoising" | "noising";

export interface PatchingOptions {
  clean: ModelInput;
  corrupted: ModelInput;
  metric: Metric;
  /** resid_pre, resid_mid, resid_post, attn_out, mlp_out (per layer and position) or z (per layer and head). */
  site: Site;
  /** denoising (default): clean activations into the corrupted run; noising: corrupted into the clean run. */
  direction?: PatchDirection;
  /**
   * [clean position, corrupted position] pairs that hold the same role; required when the prompts
   * differ in length, else every position with itself. Only these positions are patched.
   */
  positionPairs?: readonly (readonly [number, number])[];
  /** Layers to patch (default: every layer with the site). */
  layers?: readonly number[];
  prependBos?: boolean;
  /** Most patched runs per forward pass (default 64). */
  batchSize?: number;
  /** Called as the patched runs go: how many have run, of how many. */
  onProgress?: (done: number, total: number) => void;
  /** Stops the sweep after the batch in progress, with an AbortError (abort.ts). */
  signal?: AbortSignal;
}

const PATCHING_KEYS = keysOf<PatchingOptions>({
  clean: true,
  corrupted: true,
  metric: true,
  site: true,
  direction: true,
  positionPairs: true,
  layers: true,
  prependBos: true,
  batchSize: true,
  onProgress: true,
  signal: true,
});

export class PatchingResult {
  constructor(
    readonly site: Site,
    readonly direction: PatchDirection,
    readonly metric: Metric,
    /** The rows: layers patched. */
    readonly layers: number[],
    /** The columns: positions in the patched run (its own numbering), or heads for z. */
    readonly columns: number[],
    /** What each column is: the patched run's token there, or "H<i>". */
    readonly labels: string[],
    /** The metric of the clean and the corrupted run. */
    readonly clean: number,
    readonly corrupted: number,
    /** The metric of each patched run, [layer][column]. */
    readonly raw: number[][],
  ) {}

  /** (patched - corrupted) / (clean - corrupted) per cell: 1 clean, 0 corrupted (either direction). */
  get normalized(): number[][] {
    return this.raw.map((row) => row.map((v) => normalizedRecovery(v, this.clean, this.corrupted)));
  }

  toJSON() {
    return {
      site: this.site,
      direction: this.direction,
      metric: this.metric,
      layers: this.layers,
      columns: this.columns,
      columnKind: this.site === HEAD_SITE ? "head" : "position",
      labels: this.labels,
      clean: this.clean,
      corrupted: this.corrupted,
      raw: this.raw,
      normalized: this.normalized,
    };
  }
}

/** Patches the site at each (layer, position) or (layer, head) and reads the metric of each run. */
export function activationPatching(hm: HookedModel, options: PatchingOptions): PatchingResult {
  checkOptionKeys(options, PATCHING_KEYS, "activationPatching");
  const site = checkSite(options.site);
  const direction = options.direction ?? "denoising";
  if (direction !== "denoising" && direction !== "noising") {
    throw new Error(`direction must be "denoising" or "noising", got ${JSON.stringify(direction)}`);
  }
  const metric = resolveMetric(hm, options.metric);
  const clean = onePrompt(hm, options.clean, "clean", options.prependBos);
  const corrupted = onePrompt(hm, options.corrupted, "corrupted", options.prependBos);
  const pairs = alignPositions(options.positionPairs, clean.length, corrupted.length);
  const layers = siteLayers(hm, site, options.layers);
  const [target, source] = direction === "denoising" ? [corrupted, clean] : [clean, corrupted];
  // [target position, source position]
  const mapped = pairs.map(([c, k]) => (direction === "denoising" ? [k, c] : [c, k])) as [number, number][];
  mapped.sort((a, b) => a[0] - b[0]);

  const keys = layers.map((l) => `${site}.${l}`);
  const { logits: sourceLogits, cache } = hm.runWithCache([source], { names: keys, prependBos: false });
  const edits: Edit[] = [];
  // Freed in `finally`, also when the sweep stops part-way (the last-position views hold their logits).
  const held: MxArray[] = [];
  try {
    const otherLogits = hm.forward([target]);
    held.push(otherLogits);
    const last = (l: MxArray) => {
      const view = mx.index(l, ":", -1, ":");
      held.push(view);
      return view;
    };
    const cleanLogits = direction === "denoising" ? last(sourceLogits) : last(otherLogits);
    const corruptedLogits = direction === "denoising" ? last(otherLogits) : last(sourceLogits);
    const read = (logits: MxArray) => readMetric(metric, logits, cleanLogits);
    const cleanValue = scalar(read(cleanLogits));
    const corruptedValue = scalar(read(corruptedLogits));

    let columns: number[];
    if (site === HEAD_SITE) {
      const heads = hm.model.layout.dims.heads;
      columns = Array.from({ length: heads }, (_, h) => h);
      const targetPositions = mapped.map(([t]) => t);
      const sourcePositions = mx.array(
        mapped.map(([, s]) => s),
        "int32",
      );
      held.push(sourcePositions);
      for (const key of keys) {
        const z = cache.get(key); // [1, heads, L, d_head]
        for (const head of columns) {
          edits.push({
            key,
            head,
            positions: targetPositions,
            value: mx.tidy(() => mx.take(mx.index(z, 0, head), sourcePositions, 0)),
          });
        }
      }
    } else {
      columns = mapped.map(([t]) => t);
      for (const key of keys) {
        const act = cache.get(key); // [1, L, d_model]
        for (const [t, s] of mapped) edits.push({ key, positions: [t], value: mx.index(act, 0, `${s}:${s + 1}`, ":") });
      }
    }
    const { base, edited } = runEdits(hm, target, edits, {
      readout: read,
      ...passedRunOptions(options),
    });
    const values = edited.tolist() as number[];
    base.dispose();
    edited.dispose();
    const raw = layers.map((_, i) => values.slice(i * columns.length, (i + 1) * columns.length));
    const labels = site === HEAD_SITE ? columns.map((h) => `H${h}`) : columnLabels(hm, target, columns);
    return new PatchingResult(
      site,
      direction,
      options.metric,
      layers,
      columns,
      labels,
      cleanValue,
      corruptedValue,
      raw,
    );
  } finally {
    for (const e of edits) e.value.dispose();
    for (const a of held) a.dispose();
    sourceLogits.dispose();
    cache.dispose();
  }
}

export interface LayerSweepOptions {
  source: ModelInput;
  target: ModelInput;
  sourcePosition: number;
  targetPosition: number;
  /** The site patched (default resid_post: each layer's output). */
  site?: Exclude<Site, "z">;
  /** Tokens listed per layer (default 3). */
  k?: number;
  prependBos?: boolean;
  /** Most patched runs per forward pass (default 64). */
  batchSize?: number;
  /** Called as the patched runs go: how many layers have run, of how many. */
  onProgress?: (done: number, total: number) => void;
  /** Stops after the batch in progress, with an AbortError (abort.ts). */
  signal?: AbortSignal;
}

const SWEEP_KEYS = keysOf<LayerSweepOptions>({
  source: true,
  target: true,
  sourcePosition: true,
  targetPosition: true,
  site: true,
  k: true,
  prependBos: true,
  batchSize: true,
  onProgress: true,
  signal: true,
});

/** A candidate next token with its text. */
export interface NamedToken extends TopToken {
  token: string;
}

export class LayerSweepResult {
  constructor(
    readonly site: string,
    readonly sourcePosition: number,
    readonly targetPosition: number,
    /** The target's own next tokens at its last position. */
    readonly baseline: NamedToken[],
    /** Per layer: the next tokens with that layer's site patched. */
    readonly layers: { layer: number; top: NamedToken[]; changed: boolean }[],
  ) {}

  toJSON() {
    return {
      site: this.site,
      sourcePosition: this.sourcePosition,
      targetPosition: this.targetPosition,
      baseline: this.baseline,
      layers: this.layers,
    };
  }
}

/**
 * The single-cell explorer: for each layer, the target run with that layer's site at
 * `targetPosition` replaced by the source's at `sourcePosition`; the top-k next tokens of each, and
 * whether the top token differs from the unpatched target's.
 */
export function patchAcrossLayers(hm: HookedModel, options: LayerSweepOptions): LayerSweepResult {
  checkOptionKeys(options, SWEEP_KEYS, "patchAcrossLayers");
  const site = checkSite(options.site ?? "resid_post");
  if (site === HEAD_SITE) throw new Error("patchAcrossLayers patches one position; use activationPatching for heads");
  const k = options.k ?? 3;
  const vocab = hm.model.layout.dims.vocabSize;
  if (!Number.isInteger(k) || k < 1 || k > vocab) throw new Error(`k must be an integer from 1 to ${vocab}, got ${k}`);
  const source = onePrompt(hm, options.source, "source", options.prependBos);
  const target = onePrompt(hm, options.target, "target", options.prependBos);
  const [sourcePosition] = checkPositions([options.sourcePosition], source.length, "sourcePosition") as [number];
  const [targetPosition] = checkPositions([options.targetPosition], target.length, "targetPosition") as [number];
  const layers = siteLayers(hm, site);
  const keys = layers.map((l) => `${site}.${l}`);
  const { logits, cache } = hm.runWithCache([source], { names: keys, prependBos: false });
  logits.dispose();
  const edits = keys.map((key) => ({
    key,
    positions: [targetPosition],
    value: mx.index(cache.get(key), 0, `${sourcePosition}:${sourcePosition + 1}`, ":"),
  }));
  try {
    const { base, edited } = runEdits(hm, target, edits, {
      readout: (l) => mx.astype(l, "float32"),
      ...passedRunOptions(options),
    });
    const baseline = namedTopTokens(hm, base, k)[0] as NamedToken[];
    const patched = namedTopTokens(hm, edited, k);
    base.dispose();
    edited.dispose();
    return new LayerSweepResult(
      site,
      sourcePosition,
      targetPosition,
      baseline,
      layers.map((layer, i) => {
        const top = patched[i] as NamedToken[];
        return { layer, top, changed: top[0]?.id !== baseline[0]?.id };
      }),
    );
  } finally {
    for (const e of edits) e.value.dispose();
    cache.dispose();
  }
}

// The k most probable tokens of each row of probabilities [N, vocab].
// The k most likely next tokens of each row of logits, with their texts.
function namedTopTokens(hm: HookedModel, logits: MxArray, k: number): NamedToken[][] {
  return topTokens(logits, k).map((row) => row.map((t) => ({ ...t, token: tokenText(hm, t.id) })));
}

function tokenText(hm: HookedModel, id: number): string {
  return hm.tokenizer === undefined ? String(id) : hm.toString([id]);
}

function columnLabels(hm: HookedModel, tokens: readonly number[], positions: readonly number[]): string[] {
  return positions.map((p) => tokenText(hm, tokens[p] as number));
}

function scalar(a: MxArray): number {
  const value = mx.tidy(() => mx.index(a, 0).item() as number);
  a.dispose();
  return value;
}

// [clean, corrupted] position pairs, checked; every position with itself when the lengths agree.
function alignPositions(
  pairs: readonly (readonly [number, number])[] | undefined,
  cleanLength: number,
  corruptedLength: number,
): [number, number][] {
  if (pairs === undefined) {
    if (cleanLength !== corruptedLength) {
      throw new Error(
        `the clean prompt has ${cleanLength} tokens and the corrupted ${corruptedLength}: give positionPairs ([clean position, corrupted position] for each position to patch)`,
      );
    }
    return Array.from({ length: cleanLength }, (_, i) => [i, i]);
  }
  if (!Array.isArray(pairs) || pairs.length === 0)
    throw new Error("positionPairs must be a non-empty list of [clean, corrupted] pairs");
  const seen = new Set<number>();
  return pairs.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2)
      throw new Error(`positionPairs: ${JSON.stringify(pair)} is not a [clean, corrupted] pair`);
    const [c, k] = pair as [number, number];
    checkPositions([c], cleanLength, "positionPairs (clean)");
    checkPositions([k], corruptedLength, "positionPairs (corrupted)");
    if (seen.has(c) || seen.has(-1 - k)) throw new Error(`positionPairs: position ${c} or ${k} is paired twice`);
    seen.add(c);
    seen.add(-1 - k);
    return [c, k];
  });
}
