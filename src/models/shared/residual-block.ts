// One transformer block of any family: a mixing branch (attention, or LFM2's convolution) and an
// MLP branch added to the residual stream, with norms where the family puts them, sequential or
// parallel. Its hook points name what is added, whatever the family does around it, so analysis
// code decomposes the stream the same way on every architecture:
//   hook_attn_out: the mixing branch as added to the stream
//   hook_resid_mid: the stream after that addition (absent where both branches read the same input)
//   hook_mlp_out: the MLP branch as added to the stream
//
// Sequential:  h = x + post?(mixer(pre?(x)));  out = h + postMlp?(mlp(preMlp?(h)))
// Parallel:    out = (mixer(pre(x)) + mlp(preMlp(x))) + x   (GPT-NeoX's use_parallel_residual)
// Children keep the family's names (self_attn / attn / attention / conv, mlp / feed_forward,
// input_layernorm / ln_1 / operator_norm ...), in the order mixer, MLP, then the norms in the order
// of NORM_PLACES.
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { HookPoint } from "../../nn/hook-point.ts";
import { Module } from "../../nn/module.ts";
import type { LayerCache } from "../causal-lm.ts";
import type { AttentionMask } from "./multihead.ts";
import type { NormLayer } from "./norms.ts";

/** Where a block may normalize: each branch's input and output. */
export const NORM_PLACES = ["beforeMixer", "afterMixer", "beforeMlp", "afterMlp"] as const;
export type NormPlace = (typeof NORM_PLACES)[number];

/** A branch that mixes positions: attention (x, mask, cache) or a convolution (x, realTokens, cache). */
export type Mixer = Module & { forward(x: MxArray, mask: AttentionMask, cache?: LayerCache): MxArray };

/** A child of a block as [its name in the checkpoint, the module]. */
export type Named<M> = readonly [name: string, module: M];

export interface BlockParts {
  mixer: Named<Mixer>;
  mlp: Named<Module & { forward(x: MxArray): MxArray }>;
  norms: Partial<Record<NormPlace, Named<NormLayer>>>;
  /** Both branches read the block's input and are added together to it (no resid_mid). */
  parallel?: boolean;
  /** Each branch is multiplied by this before it joins the stream (Granite's residual_multiplier). */
  residualMultiplier?: number;
  /** float16 residual sums done in float32 and clipped to the float16 range (Gemma 3's clip_residual). */
  clipFloat16Residual?: boolean;
}

const FLOAT16_MAX = 65504;

export class ResidualBlock extends Module {
  static override readonly inputNames = ["x", "mask", "cache"];

  hook_attn_out = new HookPoint();
  hook_resid_mid?: HookPoint = new HookPoint();
  hook_mlp_out = new HookPoint();
  readonly _names: { mixer: string; mlp: string; norms: Partial<Record<NormPlace, string>> };
  readonly _parallel: boolean;
  readonly _residualMultiplier: number | undefined;
  readonly _clipFloat16Residual: boolean;

  constructor(parts: BlockParts) {
    super();
    const children = this as unknown as Record<string, Module>;
    children[parts.mixer[0]] = parts.mixer[1];
    children[parts.mlp[0]] = parts.mlp[1];
    const norms: Partial<Record<NormPlace, string>> = {};
    for (const place of NORM_PLACES) {
      const norm = parts.norms[place];
      if (norm === undefined) continue;
      children[norm[0]] = norm[1];
      norms[place] = norm[0];
    }
    this._names = { mixer: parts.mixer[0], mlp: parts.mlp[0], norms };
    this._parallel = parts.parallel ?? false;
    if (this._parallel) {
      if (norms.afterMixer !== undefined || norms.afterMlp !== undefined) {
        throw new Error("a parallel block normalizes only the branches' inputs");
      }
      this.hook_resid_mid = undefined;
    }
    this._residualMultiplier = parts.residualMultiplier;
    this._clipFloat16Residual = parts.clipFloat16Residual ?? false;
  }

  /** The branch that mixes positions (attention, or a convolution). */
  get mixing(): Mixer {
    return this.#child(this._names.mixer) as Mixer;
  }

  /** The MLP branch. */
  get feedForward(): Module & { forward(x: MxArray): MxArray } {
    return this.#child(this._names.mlp) as Module & { forward(x: MxArray): MxArray };
  }

  override forward(x: MxArray, mask: AttentionMask, cache?: LayerCache): MxArray {
    return mx.tidy(() => {
      const mixed = this.mixing.call(this.#norm("beforeMixer", x), mask, cache);
      if (this._parallel) {
        // (attn + ffn) + x, in mlx-lm's order of additions.
        const ffn = this.feedForward.call(this.#norm("beforeMlp", x));
        return mx.add(mx.add(this.hook_attn_out.call(mixed), this.hook_mlp_out.call(ffn)), x);
      }
      const h = this.#addAttention(x, this.#norm("afterMixer", mixed));
      const m = this.feedForward.call(this.#norm("beforeMlp", h));
      return this.#addMlp(h, this.#norm("afterMlp", m));
    });
  }

  /** x + the mixing branch: the stream between the branches. */
  #addAttention(x: MxArray, branch: MxArray): MxArray {
    const sum = this.#residual(x, this.hook_attn_out.call(this.#scaled(branch)));
    return this.hook_resid_mid ? this.hook_resid_mid.call(sum) : sum;
  }

  /** h + the MLP branch: the block's output. */
  #addMlp(h: MxArray, branch: MxArray): MxArray {
    return this.#residual(h, this.hook_mlp_out.call(this.#scaled(branch)));
  }

  #scaled(branch: MxArray): MxArray {
    const multiplier = this._residualMultiplier;
    return multiplier === undefined ? branch : mx.multiply(branch, multiplier);
  }

  #residual(x: MxArray, r: MxArray): MxArray {
    if (this._clipFloat16Residual && x.dtype === "float16") {
      const sum = mx.add(mx.astype(x, "float32"), mx.astype(r, "float32"));
      return mx.astype(mx.clip(sum, -FLOAT16_MAX, FLOAT16_MAX), "float16");
    }
    return mx.add(x, r);
  }

  #norm(place: NormPlace, x: MxArray): MxArray {
    const name = this._names.norms[place];
    return name === undefined ? x : (this.#child(name) as NormLayer).call(x);
  }

  #child(name: string): Module {
    return (this as unknown as Record<string, Module>)[name] as Module;
  }
}
