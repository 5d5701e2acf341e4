// A named point inside a module's computation that is not a module of its own in mlx-lm (rotated
// queries, the attention pattern, per-head outputs ...). It passes its input through unchanged,
// and being a child module, hooks reach it by path like any other module.
import type { MxArray } from "../mx/array.ts";
import { Module } from "./module.ts";

export class HookPoint extends Module {
  override forward(x: MxArray): MxArray {
    return x;
  }
}
