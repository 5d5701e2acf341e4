// The final norm applied to a stack of residual components, and each component's share of a
// token's logit (direct logit attribution), with TransformerLens's semantics on unfolded weights.
//
// A norm is not linear in its input, but with its statistics frozen it is: y = centre(x) / s · w + b,
// where s = sqrt(stat(resid) + eps) is computed once from the actual residual stream at that point.
// Each component c becomes centre(c) / s · w (centre: LayerNorm subtracts the feature mean, RMSNorm
// does nothing), so the components of a decomposition sum to the norm's output minus its bias b.
// The bias is a constant of the model, no component's: it is left out, as TransformerLens leaves
// it out by folding it into the unembedding bias. Our weights are not folded, so w is applied
// here as the norm applies it (a norm that scales by (1 + weight) does so here too).
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import {
  type CacheSource,
  checkMlpInput,
  checkOptions,
  checkStack,
  layerBound,
  need,
  needOneOf,
  needReadout,
  type PositionSelector,
  selectPositions,
  streamKeys,
} from "./cache-source.ts";

export interface ApplyLnOptions {
  /** The positions the stack was taken at (the residual stream's scale is taken at the same ones). */
  pos?: PositionSelector;
  /** The stack is the MLP's input of `layer` (scale from resid_mid) rather than the block's input. */
  mlpInput?: boolean;
}

export type TokenIds = number | readonly number[] | readonly (readonly number[])[] | MxArray;

/**
 * The stack with the final norm applied to each component, in float32 (cast back by the callers).
 * `layer` says which residual stream gives the scale: resid_pre.layer (resid_mid.layer with
 * mlpInput), or the final stream (layer omitted or n_layers).
 */
export function normalizeStack(
  source: CacheSource,
  stack: MxArray,
  layer: number | undefined,
  options: ApplyLnOptions,
  what: string,
): MxArray {
  checkOptions(options, ["pos", "mlpInput"], what);
  checkStack(stack, what);
  const { finalNorm } = needReadout(source, what);
  const layers = source.layout.layers;
  const bound = layerBound(layer, layers, what);
  if (layers === 0) throw new Error(`${what}: the model has no layers`);
  let resid: MxArray;
  if (options.mlpInput) {
    checkMlpInput(source.layout, bound, what);
    resid = need(source, [`resid_mid.${bound}`], what)[0] as MxArray;
  } else {
    resid = needOneOf(source, streamKeys(source.layout, bound), what);
  }
  return mx.tidy(() => {
    const stream = mx.astype(selectPositions(resid, 1, options.pos, what), "float32");
    const expected = stream.shape;
    const got = stack.shape.slice(1);
    if (got.length !== expected.length || got.some((d, i) => d !== expected[i])) {
      throw new Error(
        `${what}: each component is [${got}] but the residual stream at that point is [${expected}]` +
          " (with pos applied); give the pos the stack was taken with",
      );
    }
    const centre = (x: MxArray) => (finalNorm.centres ? mx.subtract(x, mx.mean(x, { axis: -1, keepdims: true })) : x);
    const statistic = mx.mean(mx.square(centre(stream)), { axis: -1, keepdims: true });
    const inverseScale = mx.rsqrt(mx.add(statistic, finalNorm.eps));
    let out = mx.multiply(centre(mx.astype(stack, "float32")), inverseScale);
    const weight = finalNorm.weight();
    if (weight !== undefined) out = mx.multiply(out, mx.astype(weight, "float32"));
    return out;
  });
}

/**
 * Each component's contribution to the logit of `tokens` (minus that of `incorrectTokens`): the
 * normalized component dotted with the token's unembedding row, divided by the model's logits
 * scaling, if any. Shape: the stack's shape without d_model.
 */
export function logitAttributions(
  source: CacheSource,
  stack: MxArray,
  tokens: TokenIds,
  incorrectTokens: TokenIds | undefined,
  options: { pos?: PositionSelector },
  what: string,
): MxArray {
  checkOptions(options, ["pos"], what);
  checkStack(stack, what);
  const { unembedding, identity } = needReadout(source, what);
  return mx.tidy(() => {
    const normalized = normalizeStack(
      source,
      stack,
      undefined,
      { ...(options.pos === undefined ? {} : { pos: options.pos }) },
      what,
    );
    const ids = tokenArray(tokens, identity.vocabSize, "tokens", what);
    let directions = unembedding.directions(ids, "float32");
    if (incorrectTokens !== undefined) {
      const wrong = tokenArray(incorrectTokens, identity.vocabSize, "incorrectTokens", what);
      if (wrong.shape.join() !== ids.shape.join()) {
        throw new Error(`${what}: tokens [${ids.shape}] and incorrectTokens [${wrong.shape}] must have the same shape`);
      }
      directions = mx.subtract(directions, unembedding.directions(wrong, "float32"));
    }
    directions = alignDirections(directions, ids.shape, normalized.shape, what);
    let attributions = mx.sum(mx.multiply(normalized, directions), { axis: -1 });
    if (unembedding.logitsScaling !== undefined) attributions = mx.divide(attributions, unembedding.logitsScaling);
    return mx.astype(attributions, stack.dtype);
  });
}

// Token directions [..ids, d] shaped to broadcast against the normalized stack [C, B, (L,) d]:
// one token for everything, one per prompt, one per position (shared by the prompts), or one per
// prompt and position.
function alignDirections(directions: MxArray, ids: number[], stack: number[], what: string): MxArray {
  const [, batch, positions] = stack as [number, number, number | undefined];
  const hasPositions = stack.length === 4;
  if (ids.length === 0) return directions;
  if (ids.length === 1) {
    if (ids[0] === batch) return hasPositions ? mx.expandDims(directions, 1) : directions;
    if (hasPositions && ids[0] === positions) return directions;
  }
  if (ids.length === 2 && hasPositions && ids[0] === batch && ids[1] === positions) return directions;
  const shapes = hasPositions
    ? `one id, [${batch}] (one per prompt), [${positions}] (one per position) or [${batch}, ${positions}]`
    : `one id or [${batch}] (one per prompt)`;
  throw new Error(
    `${what}: tokens of shape [${ids}] do not fit the stack [${stack.slice(0, -1).join(", ")}, d_model]; give ${shapes}`,
  );
}

function tokenArray(tokens: TokenIds, vocabSize: number, name: string, what: string): MxArray {
  let ids: MxArray;
  if (tokens instanceof mx.Array) {
    if (!["int32", "int64", "uint32", "int16", "uint16", "int8", "uint8"].includes(tokens.dtype)) {
      throw new TypeError(`${what}: ${name} must be integer token ids, got an Array of ${tokens.dtype}`);
    }
    ids = mx.astype(tokens, "int32");
  } else {
    const flat = [tokens].flat(2) as unknown[];
    if (!flat.every((t) => Number.isInteger(t))) {
      throw new TypeError(
        `${what}: ${name} must be token ids (an id, a list, or a list of lists), got ${JSON.stringify(tokens)}`,
      );
    }
    ids = mx.array(tokens as number[], "int32");
  }
  if (ids.size === 0) throw new Error(`${what}: ${name} is empty`);
  const [low, high] = [mx.min(ids).item() as number, mx.max(ids).item() as number];
  if (low < 0 || high >= vocabSize) {
    throw new RangeError(`${what}: ${name} must be ids in 0 to ${vocabSize - 1}, got ${low < 0 ? low : high}`);
  }
  return ids;
}
