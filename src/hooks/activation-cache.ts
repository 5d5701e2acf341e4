// The activations one run recorded, by standard key (`resid_post.3`, `pattern.0`) or module path,
// with TransformerLens's residual-stream utilities over them and saving to / loading from disk.
import type { CacheLayout } from "../analysis/cache-layout.ts";
import type { CacheSource, PositionSelector } from "../analysis/cache-source.ts";
import { type ApplyLnOptions, logitAttributions, normalizeStack, type TokenIds } from "../analysis/norm-stack.ts";
import type { ModelReadout } from "../analysis/readout.ts";
import {
  type AccumulatedResidOptions,
  accumulatedResid,
  type DecomposeResidOptions,
  decomposeResid,
  type Labeled,
  type StackOptions,
  stackHeadResults,
} from "../analysis/residual-stream.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { readCache, writeCache } from "./cache-file.ts";
import { sameLayout } from "./cache-layout.ts";
import type { StandardName } from "./standard-names.ts";

type WithLabels<O> = O & { returnLabels: true };
type WithoutLabels<O> = O & { returnLabels?: false };

/** What ActivationCache.load needs to give a loaded cache its model's weights. */
export interface CacheModel {
  readonly names: CacheLayout;
  readonly readout: ModelReadout;
}

export class ActivationCache implements CacheSource {
  readonly #arrays: Map<string, MxArray>;
  readonly #aliases: Map<string, string>;
  /** The model's layout, for standard-name lookups and the residual-stream utilities. */
  readonly names: CacheLayout;
  readonly #readout: ModelReadout | undefined;

  /**
   * @internal Made by HookedModel.runWithCache (and load); `aliases` maps module paths to keys;
   * `readout` gives the utilities that need weights (applyLn, logitAttrs) the model's final norm
   * and unembedding.
   */
  constructor(arrays: Map<string, MxArray>, aliases: Map<string, string>, names: CacheLayout, readout?: ModelReadout) {
    this.#arrays = arrays;
    this.#aliases = aliases;
    this.names = names;
    this.#readout = readout;
  }

  /** The keys held, in the order the model produced them. */
  keys(): string[] {
    return [...this.#arrays.keys()];
  }

  has(key: string, layer?: number): boolean {
    return this.#resolve(key, layer) !== undefined;
  }

  /**
   * The activation under a standard key or module path: get("resid_post.3"), get("resid_post", 3),
   * get("<blocks>.3"). The Array stays owned by the cache.
   */
  get(key: StandardName | string, layer?: number): MxArray {
    const resolved = this.#resolve(key, layer);
    if (resolved === undefined) {
      const asked = layer === undefined ? key : `${key}.${layer}`;
      throw new Error(`the cache holds no "${asked}"; it holds: ${this.keys().join(", ") || "nothing"}`);
    }
    return this.#arrays.get(resolved) as MxArray;
  }

  /** Bytes of every cached Array. */
  get nbytes(): number {
    let total = 0;
    for (const a of this.#arrays.values()) total += a.nbytes;
    return total;
  }

  get size(): number {
    return this.#arrays.size;
  }

  entries(): [string, MxArray][] {
    return [...this.#arrays];
  }

  // ---- residual-stream utilities (TransformerLens's; every result is a new Array the caller owns) ----

  /** @internal The layout, as the utilities read it. */
  get layout(): CacheLayout {
    return this.names;
  }

  /** @internal The model's final norm and unembedding, when the cache has its model. */
  get readout(): ModelReadout | undefined {
    return this.#readout;
  }

  /** @internal An activation, or undefined. */
  find(key: string): MxArray | undefined {
    const resolved = this.#resolve(key);
    return resolved === undefined ? undefined : this.#arrays.get(resolved);
  }

  /**
   * The residual stream entering each layer up to `layer` (default: every layer and the final
   * stream), stacked: [streams, batch, positions, d_model], labels "0_pre", "0_mid" (inclMid),
   * ..., "final_post". applyLn over the whole model normalizes each stream on its own with the
   * model's final norm (the logit lens); with a `layer`, every stream gets the scale of the stream
   * entering that layer (applyLnToStack). Needs resid_pre / resid_post (and resid_mid) cached.
   */
  accumulatedResid(layer: number | undefined, options: WithLabels<AccumulatedResidOptions>): Labeled;
  accumulatedResid(layer?: number, options?: WithoutLabels<AccumulatedResidOptions>): MxArray;
  accumulatedResid(layer?: number, options: AccumulatedResidOptions = {}): MxArray | Labeled {
    return accumulatedResid(this, layer, options);
  }

  /**
   * The residual stream entering `layer` (default: the final stream) as what each part added:
   * "embed" ("pos_embed"), "0_attn_out", "0_mlp_out", ... They sum to that stream (resid_pre.layer,
   * or the last resid_post). Branches are taken exactly as they join the stream (after any
   * post-norms and residual multipliers; convolution layers count as attention; parallel branches
   * both read resid_pre). Needs embed, attn_out, mlp_out.
   */
  decomposeResid(layer: number | undefined, options: WithLabels<DecomposeResidOptions>): Labeled;
  decomposeResid(layer?: number, options?: WithoutLabels<DecomposeResidOptions>): MxArray;
  decomposeResid(layer?: number, options: DecomposeResidOptions = {}): MxArray | Labeled {
    return decomposeResid(this, layer, options);
  }

  /**
   * Every attention head's result in the layers before `layer` (default all): [layers·heads,
   * batch, positions, d_model], labels "L0H0", "L0H1" ... (layers without attention, such as
   * convolution layers, have none). One layer's heads sum to its attention module's output minus
   * the output projection's bias. Needs `result` cached: runWithCache(input, { names: ["result"] }).
   */
  stackHeadResults(layer: number | undefined, options: WithLabels<StackOptions>): Labeled;
  stackHeadResults(layer?: number, options?: WithoutLabels<StackOptions>): MxArray;
  stackHeadResults(layer?: number, options: StackOptions = {}): MxArray | Labeled {
    return stackHeadResults(this, layer, options);
  }

  /**
   * The final norm applied to each component of a stack as TransformerLens does: one scale for all
   * components, taken from the actual residual stream at `layer` (resid_pre.layer, resid_mid.layer
   * with mlpInput, the final stream when omitted); LayerNorm also centres each component; the
   * norm's weight multiplies (as the norm applies it, (1 + weight) where it adds one: weights are not folded here). The norm's bias
   * is a constant, not a component's, and is not added: the components sum to the norm's output
   * minus its bias. Computed in float32, returned in the stack's dtype. Needs the model (a cache
   * from runWithCache has it; a loaded one gets it from ActivationCache.load(path, { model })).
   */
  applyLnToStack(stack: MxArray, layer?: number, options: ApplyLnOptions = {}): MxArray {
    const normalized = normalizeStack(this, stack, layer, options, "applyLnToStack");
    return normalized.dtype === stack.dtype ? normalized : castAndFree(normalized, stack.dtype);
  }

  /**
   * Each component's contribution to the logits of `tokens` (minus those of `incorrectTokens`):
   * applyLnToStack at the final stream, dotted with each token's unembedding row (a linear head, or
   * the tied embedding; quantized ones dequantized), divided by the model's logits scaling, if any.
   * Shape: the stack's without d_model. `tokens`: one id, one per prompt [batch], one per position
   * [positions], or [batch, positions]. Over a full decomposition they sum to the logit minus the
   * final norm's bias term (and any head bias). A model that soft-caps its logits does so after this sum:
   * the attributions are to the logit before soft-capping. Needs the model, as applyLnToStack.
   */
  logitAttrs(
    stack: MxArray,
    tokens: TokenIds,
    incorrectTokens?: TokenIds,
    options: { pos?: PositionSelector } = {},
  ): MxArray {
    return logitAttributions(this, stack, tokens, incorrectTokens, options, "logitAttrs");
  }

  // ---- on disk ----

  /**
   * Writes the cache to one safetensors file (".safetensors" appended when missing): every
   * activation in its dtype, and as metadata the keys, aliases, the model's standard-name layout
   * and identity. Returns the path written.
   */
  save(path: string): string {
    return writeCache(path, {
      arrays: this.#arrays,
      aliases: this.#aliases,
      layout: this.names,
      identity: identityOf(this.#readout),
    });
  }

  /**
   * Reads a cache written by save(). Without `model`, get, accumulatedResid and decomposeResid
   * (and stackHeadResults) work; applyLn and logitAttrs need the model's weights: pass the
   * HookedModel the cache came from (its layout and identity are checked).
   */
  static load(path: string, options: { model?: CacheModel } = {}): ActivationCache {
    const { arrays, aliases, layout, identity } = readCache(path);
    const model = options.model;
    if (model === undefined) return new ActivationCache(arrays, aliases, layout);
    const theirs = model.readout.identity;
    const mismatch =
      identity !== undefined && JSON.stringify(identity) !== JSON.stringify(theirs)
        ? `the cache is of ${JSON.stringify(identity)}, the model is ${JSON.stringify(theirs)}`
        : !sameLayout(layout, model.names)
          ? "their module paths and standard names differ"
          : undefined;
    if (mismatch !== undefined) {
      for (const a of arrays.values()) a.dispose();
      throw new Error(`${path} was not recorded from this model: ${mismatch}`);
    }
    return new ActivationCache(arrays, aliases, layout, model.readout);
  }

  /** Releases every cached Array. */
  dispose(): void {
    for (const a of this.#arrays.values()) a.dispose();
    this.#arrays.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // A key as stored, a path aliased to a key, or a standard key whose target the cache holds under
  // another key (resid_pre.0 and embed are one activation in most families).
  #resolve(key: string, layer?: number): string | undefined {
    const full = layer === undefined ? key : `${key}.${layer}`;
    if (this.#arrays.has(full)) return full;
    const alias = this.#aliases.get(full);
    if (alias !== undefined && this.#arrays.has(alias)) return alias;
    const target = this.names.target(full);
    if (target === undefined) return undefined;
    const place = target.input ? `${target.path}:input` : target.path;
    const stored = this.#aliases.get(place) ?? place;
    return this.#arrays.has(stored) ? stored : undefined;
  }
}

function castAndFree(a: MxArray, dtype: MxArray["dtype"]): MxArray {
  const out = mx.astype(a, dtype);
  a.dispose();
  return out;
}

// A model whose norm or head the utilities do not know still saves its cache, without identity.
function identityOf(readout: ModelReadout | undefined) {
  try {
    return readout?.identity;
  } catch {
    return undefined;
  }
}
