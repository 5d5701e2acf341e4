// A transformer block seen as branches added to the residual stream. Its hook points name what is
// added, whatever the family does around it (post-norms, multipliers, parallel branches), so
// analysis code can decompose the stream the same way on every architecture:
//   hook_attn_out: the attention (or mixing) branch as added to the stream
//   hook_resid_mid: the stream after that addition (absent where both branches read the same input)
//   hook_mlp_out: the MLP branch as added to the stream
import type { MxArray } from "../../mx/array.ts";
import * as mx from "../../mx/index.ts";
import { HookPoint } from "../../nn/hook-point.ts";
import { Module } from "../../nn/module.ts";

export abstract class ResidualBlock extends Module {
  hook_attn_out = new HookPoint();
  hook_resid_mid?: HookPoint = new HookPoint();
  hook_mlp_out = new HookPoint();

  /** x + the attention branch: the stream between attention and MLP. */
  protected addAttention(x: MxArray, branch: MxArray): MxArray {
    const sum = mx.add(x, this.hook_attn_out.call(branch));
    return this.hook_resid_mid ? this.hook_resid_mid.call(sum) : sum;
  }

  /** h + the MLP branch: the block's output. */
  protected addMlp(h: MxArray, branch: MxArray): MxArray {
    return mx.add(h, this.hook_mlp_out.call(branch));
  }
}
