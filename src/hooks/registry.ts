// Hooks attached to the modules of one model. Each hooked module gets an interceptor that runs its
// pre-hooks, the module, then its hooks, in the order they were added; a module with no hooks left
// loses its interceptor, so unhooked modules cost nothing.
import { MxArray } from "../mx/array.ts";
import type { CallInterceptor, Module } from "../nn/module.ts";
import { type Hook, type HookContext, HookError, type PreHook } from "./hook-types.ts";

interface Entry<F> {
  fn: F;
}

/** What a run tells the hooks about itself (the tokens it was given, and their left padding). */
export interface RunState {
  tokens: readonly (readonly number[])[] | undefined;
  leftPadding: readonly number[] | undefined;
}

class ModuleHooks implements CallInterceptor {
  readonly pre: Entry<PreHook>[] = [];
  readonly post: Entry<Hook>[] = [];

  constructor(
    readonly path: string,
    readonly layer: number | undefined,
    readonly run: RunState,
  ) {}

  get empty(): boolean {
    return this.pre.length === 0 && this.post.length === 0;
  }

  intercept(module: Module, args: unknown[], forward: (args: unknown[]) => unknown): unknown {
    let inputs = args;
    for (const { fn } of [...this.pre]) {
      const replaced = this.#invoke("pre-hook", () => fn(inputs[0] as MxArray, this.#context(module, inputs)));
      if (replaced === undefined) continue;
      if (Array.isArray(replaced)) {
        if (replaced.length !== inputs.length) {
          throw new HookError(
            `pre-hook on "${this.path}" returned ${replaced.length} inputs; the module takes ${inputs.length}`,
            this.path,
          );
        }
        replaced.forEach((value, i) => {
          if (inputs[i] instanceof MxArray) this.#check("pre-hook", value, inputs[i] as MxArray, `input ${i}`);
        });
        inputs = replaced;
      } else {
        this.#check("pre-hook", replaced, inputs[0], "input 0");
        inputs = [replaced, ...inputs.slice(1)];
      }
    }
    let output = forward(inputs);
    for (const { fn } of [...this.post]) {
      const replaced = this.#invoke("hook", () => fn(output as MxArray, this.#context(module, inputs)));
      if (replaced === undefined) continue;
      this.#check("hook", replaced, output, "output");
      output = replaced;
    }
    return output;
  }

  #context(module: Module, inputs: readonly unknown[]): HookContext {
    const names = parameterNames(module);
    const named: Record<string, unknown> = {};
    names.forEach((name, i) => {
      if (i < inputs.length) named[name] = inputs[i];
    });
    return {
      path: this.path,
      module,
      layer: this.layer,
      inputs,
      named,
      tokens: this.run.tokens,
      leftPadding: this.run.leftPadding,
    };
  }

  #invoke<T>(kind: string, fn: () => T): T | undefined {
    let result: T;
    try {
      result = fn();
    } catch (error) {
      if (error instanceof HookError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new HookError(`${kind} on "${this.path}" threw: ${message}`, this.path, { cause: error });
    }
    if (result instanceof Promise) {
      throw new HookError(
        `${kind} on "${this.path}" returned a Promise; hooks run inside the forward pass and must be synchronous`,
        this.path,
      );
    }
    return result ?? undefined;
  }

  // A replacement must look like what it replaces: an Array of the same shape and dtype.
  #check(kind: string, replacement: unknown, original: unknown, what: string): void {
    if (!(original instanceof MxArray)) return;
    if (!(replacement instanceof MxArray)) {
      throw new HookError(
        `${kind} on "${this.path}" returned ${describe(replacement)} for its ${what}; return an mx.Array of shape [${original.shape}] and dtype ${original.dtype}, or undefined to keep it`,
        this.path,
      );
    }
    const [want, got] = [original.shape, replacement.shape];
    if (want.length !== got.length || want.some((d, i) => d !== got[i])) {
      throw new HookError(
        `${kind} on "${this.path}" returned shape [${got}] for its ${what}; it must keep shape [${want}]`,
        this.path,
      );
    }
    if (replacement.dtype !== original.dtype) {
      throw new HookError(
        `${kind} on "${this.path}" returned dtype ${replacement.dtype} for its ${what}; it must keep dtype ${original.dtype} (use mx.astype)`,
        this.path,
      );
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a JavaScript array";
  return typeof value === "object" ? `a ${value.constructor?.name ?? "object"}` : `a ${typeof value}`;
}

// The names of a module's forward() inputs, as its class declares them.
function parameterNames(module: Module): readonly string[] {
  return (module.constructor as typeof Module).inputNames;
}

/** Removes the hook it was returned for; removing twice does nothing. */
export interface HookHandle {
  remove(): void;
  [Symbol.dispose](): void;
}

export class HookRegistry {
  readonly run: RunState = { tokens: undefined, leftPadding: undefined };
  readonly #hooks = new Map<Module, ModuleHooks>();

  /** Attaches fn to the module found at `path`, after any hooks already there. */
  add(module: Module, path: string, layer: number | undefined, kind: "pre" | "post", fn: Hook | PreHook): HookHandle {
    let hooks = this.#hooks.get(module);
    if (hooks === undefined) {
      if (module._interceptor !== undefined) {
        throw new Error(`the module at "${path}" already has hooks from another HookedModel; remove those first`);
      }
      hooks = new ModuleHooks(path, layer, this.run);
      this.#hooks.set(module, hooks);
      module._interceptor = hooks;
    }
    const list = (kind === "pre" ? hooks.pre : hooks.post) as Entry<Hook | PreHook>[];
    const entry: Entry<Hook | PreHook> = { fn };
    list.push(entry);
    const owner = hooks;
    let removed = false;
    const remove = () => {
      if (removed) return;
      removed = true;
      const at = list.indexOf(entry);
      if (at >= 0) list.splice(at, 1);
      if (owner.empty && this.#hooks.get(module) === owner) {
        this.#hooks.delete(module);
        module._interceptor = undefined;
      }
    };
    return { remove, [Symbol.dispose]: remove };
  }

  /** Paths that have hooks attached now. */
  hookedPaths(): string[] {
    return [...this.#hooks.values()].map((h) => h.path);
  }

  /** Removes every hook. */
  clear(): void {
    for (const [module] of this.#hooks) module._interceptor = undefined;
    this.#hooks.clear();
  }
}
