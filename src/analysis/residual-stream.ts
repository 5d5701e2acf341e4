// The residual stream seen as stacks (TransformerLens's ActivationCache utilities): the stream as
// it accumulates layer by layer, the stream decomposed into what each branch added, and each
// attention head's result. Stacks are [components, batch, positions, d_model] (positions gone
// when `pos` is one position), with a label per component.
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import {
  type CacheSource,
  checkMlpInput,
  checkOptions,
  layerBound,
  need,
  needEach,
  needOneOf,
  needReadout,
  type PositionSelector,
  selectPositions,
  streamKeys,
} from "./cache-source.ts";
import { normalizeStack } from "./norm-stack.ts";

export interface StackOptions {
  /** Keep only these positions (one position removes the axis). */
  pos?: PositionSelector;
  /** Apply the final norm to each component (see applyLnToStack and each utility). */
  applyLn?: boolean;
  /** Return [stack, labels] instead of the stack. */
  returnLabels?: boolean;
}

export interface AccumulatedResidOptions extends StackOptions {
  /** Also the stream between attention and MLP (resid_mid) of every layer before `layer`. */
  inclMid?: boolean;
  /** End at the MLP input of `layer` (its resid_mid) rather than its block input. */
  mlpInput?: boolean;
}

export interface DecomposeResidOptions extends StackOptions {
  /** Which branches: all (default), only attention ("attn": convolution layers count as attention) or only MLPs. */
  mode?: "all" | "attn" | "mlp";
  /** Include the embeddings (embed, and pos_embed where the model learns positions); default true. */
  inclEmbeds?: boolean;
  /** Decompose the MLP input of `layer` (adds that layer's attn_out). */
  mlpInput?: boolean;
}

export type Labeled = [stack: MxArray, labels: string[]];

const STACK_OPTIONS = ["pos", "applyLn", "returnLabels"];

/**
 * The residual stream entering each layer up to `layer` ("0_pre", "1_pre" ...), ending with the
 * final stream ("final_post") when `layer` is omitted. With applyLn and the whole model, each
 * stream goes through the model's own final norm with its own statistics (the logit lens, as
 * TransformerLens does for the final layer); with a `layer`, all share the scale of the stream
 * entering that layer (applyLnToStack).
 */
export function accumulatedResid(
  source: CacheSource,
  layer: number | undefined,
  options: AccumulatedResidOptions,
): MxArray | Labeled {
  const what = "accumulatedResid";
  checkOptions(options, [...STACK_OPTIONS, "inclMid", "mlpInput"], what);
  const { layout } = source;
  const bound = layerBound(layer, layout.layers, what);
  const mids = (l: number) => (options.inclMid && l < bound) || (options.mlpInput && l === bound);
  if (options.mlpInput) checkMlpInput(layout, bound, what);
  const wanted: [string, string[]][] = [];
  for (let l = 0; l <= bound; l++) {
    if (l === layout.layers) {
      wanted.push(["final_post", streamKeys(layout, l)]);
      continue;
    }
    wanted.push([`${l}_pre`, streamKeys(layout, l)]);
    if (!mids(l)) continue;
    if (layout.target(`resid_mid.${l}`) === undefined) {
      throw new Error(
        `${what}: layer ${l} has no resid_mid (its attention and MLP read the same stream); leave out inclMid`,
      );
    }
    wanted.push([`${l}_mid`, [`resid_mid.${l}`]]);
  }
  const arrays = needEach(
    source,
    wanted.map(([, keys]) => keys),
    what,
  );
  const parts = wanted.map(([label], i): [string, MxArray] => [label, arrays[i] as MxArray]);
  const stack = mx.tidy(() => {
    const stacked = stackParts(parts, options.pos, what);
    if (!options.applyLn) return stacked;
    if (bound === layout.layers) return needReadout(source, what).finalNorm.apply(stacked);
    const pos = options.pos === undefined ? {} : { pos: options.pos };
    return mx.astype(
      normalizeStack(source, stacked, bound, { ...pos, mlpInput: options.mlpInput ?? false }, what),
      stacked.dtype,
    );
  });
  return labeled(stack, parts, options);
}

/**
 * What each part of the model added to the residual stream entering `layer` (the final stream
 * when omitted): "embed" (and "pos_embed"), then "l_attn_out" and "l_mlp_out" for each earlier
 * layer. They sum to that stream. attn_out and mlp_out are the branches exactly as they join the
 * stream: after any post-norms and residual multipliers; in convolution layers attn_out is the
 * convolution branch. With applyLn, applyLnToStack at `layer`.
 */
export function decomposeResid(
  source: CacheSource,
  layer: number | undefined,
  options: DecomposeResidOptions,
): MxArray | Labeled {
  const what = "decomposeResid";
  checkOptions(options, [...STACK_OPTIONS, "mode", "inclEmbeds", "mlpInput"], what);
  const mode = options.mode ?? "all";
  if (!["all", "attn", "mlp"].includes(mode))
    throw new Error(`${what}: mode must be "all", "attn" or "mlp", got ${JSON.stringify(mode)}`);
  const { layout } = source;
  const bound = layerBound(layer, layout.layers, what);
  if (options.mlpInput) checkMlpInput(layout, bound, what);
  const keys: [string, string][] = [];
  if (options.inclEmbeds ?? true) {
    keys.push(["embed", "embed"]);
    if (layout.target("pos_embed") !== undefined) keys.push(["pos_embed", "pos_embed"]);
  }
  for (let l = 0; l < bound; l++) {
    if (mode !== "mlp") keys.push([`${l}_attn_out`, `attn_out.${l}`]);
    if (mode !== "attn") keys.push([`${l}_mlp_out`, `mlp_out.${l}`]);
  }
  if (options.mlpInput && mode !== "mlp") keys.push([`${bound}_attn_out`, `attn_out.${bound}`]);
  if (keys.length === 0) {
    throw new Error(
      `${what}: nothing to stack: layer ${bound} with inclEmbeds false and mode "${mode}" has no components`,
    );
  }
  const arrays = need(
    source,
    keys.map(([, k]) => k),
    what,
  );
  const parts = keys.map(([label], i): [string, MxArray] => [label, arrays[i] as MxArray]);
  const stack = mx.tidy(() => {
    const stacked = stackParts(parts, options.pos, what);
    if (!options.applyLn) return stacked;
    const ln = { ...(options.pos === undefined ? {} : { pos: options.pos }), mlpInput: options.mlpInput ?? false };
    return mx.astype(normalizeStack(source, stacked, bound, ln, what), stacked.dtype);
  });
  return labeled(stack, parts, options);
}

/**
 * Each attention head's result (its share of the attention output projection, without the
 * projection's bias) in every attention layer before `layer` (all when omitted), labelled "L0H0",
 * "L0H1" ...: [layers·heads, batch, positions, d_model]. Needs `result` in the cache. One layer's
 * heads sum to its attention module's output minus the bias: attn_out only where the block adds the
 * attention output as it is (not where a post-norm or a residual multiplier changes it). With applyLn, applyLnToStack at `layer`.
 */
export function stackHeadResults(
  source: CacheSource,
  layer: number | undefined,
  options: StackOptions,
): MxArray | Labeled {
  const what = "stackHeadResults";
  checkOptions(options, STACK_OPTIONS, what);
  const { layout } = source;
  const bound = layerBound(layer, layout.layers, what);
  const attentionLayers = [...Array(bound).keys()].filter((l) => layout.attentionPaths[l] !== undefined);
  const results = need(
    source,
    attentionLayers.map((l) => `result.${l}`),
    what,
  );
  const labels: string[] = [];
  const stack = mx.tidy(() => {
    const perLayer = results.map((result, i) => {
      const heads = result.shape[2] as number;
      for (let h = 0; h < heads; h++) labels.push(`L${attentionLayers[i]}H${h}`);
      const selected = selectPositions(result, 1, options.pos, what);
      // [B, (L,) H, d] → [H, B, (L,) d]
      return mx.moveaxis(selected, selected.ndim - 2, 0);
    });
    if (perLayer.length === 0) {
      // No heads before this layer: an empty stack shaped like the stream.
      const stream = selectPositions(needOneOf(source, streamKeys(layout, 0), what), 1, options.pos, what);
      return mx.zeros([0, ...stream.shape], stream.dtype);
    }
    const stacked = mx.concatenate(perLayer, 0);
    if (!options.applyLn) return stacked;
    const ln = options.pos === undefined ? {} : { pos: options.pos };
    return mx.astype(normalizeStack(source, stacked, bound, ln, what), stacked.dtype);
  });
  return options.returnLabels ? [stack, labels] : stack;
}

// Stacks the parts on a new leading axis, positions selected; parts without a batch axis (learned
// positions, pos_embed [L, d], the same for every prompt) are broadcast to the others' batch.
function stackParts(parts: readonly [string, MxArray][], pos: PositionSelector | undefined, what: string): MxArray {
  const withBatch = parts.find(([, a]) => a.ndim === 3)?.[1];
  const arrays = parts.map(([label, a]) => {
    if (a.ndim === 3) return a;
    if (a.ndim === 2 && withBatch !== undefined) return mx.broadcastTo(a, withBatch.shape);
    if (a.ndim === 2) return mx.expandDims(a, 0);
    throw new Error(`${what}: "${label}" has shape [${a.shape}], not [batch, positions, d_model]`);
  });
  const shape = (arrays[0] as MxArray).shape.join();
  const odd = arrays.findIndex((a) => a.shape.join() !== shape);
  if (odd >= 0) {
    throw new Error(
      `${what}: "${parts[odd]?.[0]}" has shape [${arrays[odd]?.shape}] but "${parts[0]?.[0]}" has [${shape}]; were they cached in one run?`,
    );
  }
  return mx.stack(
    arrays.map((a) => selectPositions(a, 1, pos, what)),
    0,
  );
}

function labeled(stack: MxArray, parts: readonly [string, MxArray][], options: StackOptions): MxArray | Labeled {
  return options.returnLabels ? [stack, parts.map(([label]) => label)] : stack;
}
