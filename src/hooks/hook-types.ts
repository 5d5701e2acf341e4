// What a hook function sees and may return.
import type { MxArray } from "../mx/array.ts";
import type { Module } from "../nn/module.ts";

export interface HookContext {
  /** The module's path (`<blocks>.3.mlp`, `<blocks>.3.<attention>.hook_pattern`). */
  readonly path: string;
  readonly module: Module;
  /** The index of the block the module belongs to, if any. */
  readonly layer: number | undefined;
  /** The call's positional inputs (for a post-hook, as the module received them). */
  readonly inputs: readonly unknown[];
  /** The same inputs by the parameter names the module declares (`x`, `mask`, `cache` ...). */
  readonly named: Readonly<Record<string, unknown>>;
  /**
   * The token ids of the current run, [batch][position], when the run was given tokens; in a
   * generation, the prompt's (a decode step's position is then past its end).
   */
  readonly tokens: readonly (readonly number[])[] | undefined;
  /** How many pad tokens start each row of `tokens` (all 0 unless the prompts differ in length). */
  readonly leftPadding: readonly number[] | undefined;
}

/**
 * A hook on a module's output: return a replacement (same shape and dtype) or undefined to leave
 * it as it is. Arrays made inside a hook belong to the forward pass that called it.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a hook with no return statement leaves the output.
export type Hook = (output: MxArray, ctx: HookContext) => MxArray | undefined | void;

/**
 * A hook on a module's inputs, before it runs: return a replacement for the first input (an
 * Array), a full list of positional inputs, or undefined to leave them.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: as for Hook.
export type PreHook = (input: MxArray, ctx: HookContext) => MxArray | unknown[] | undefined | void;

export class HookError extends Error {
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "HookError";
  }
}
