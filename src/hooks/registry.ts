// Hooks belong to runs, not to modules. A HookRegistry holds hooks by module (a HookedModel's own,
// one call's, a cache's recorders); they fire only while a HookRun that holds the registry is the
// run in progress (Module.call asks it). So two runs over one model never see each other's hooks,
// and with no run in progress every module runs its forward pass directly, at no cost.
import { MxArray } from "../mx/array.ts";
import { activeCallInterceptor, type CallInterceptor, type Module, withCallInterceptor } from "../nn/module.ts";
import { type Hook, type HookContext, HookError, type PreHook } from "./hook-types.ts";

interface Entry<F> {
  fn: F;
}

class ModuleHooks {
  readonly pre: Entry<PreHook>[] = [];
  readonly post: Entry<Hook>[] = [];

  constructor(
    readonly path: string,
    readonly layer: number | undefined,
  ) {}

  get empty(): boolean {
    return this.pre.length === 0 && this.post.length === 0;
  }
}

/** What a run was given: the token ids [B][L] and each row's left padding, when it ran tokens. */
interface RunInput {
  readonly tokens: readonly (readonly number[])[] | undefined;
  readonly leftPadding: readonly number[] | undefined;
}

const NO_INPUT: RunInput = { tokens: undefined, leftPadding: undefined };

/**
 * The hooks of one run: the registries it holds, in the order their hooks fire on a module (all
 * pre-hooks, the module, then all hooks), and the input it was given. `owner` says whose run it
 * is, so a run started inside another run of the same owner can add to it.
 */
export class HookRun implements CallInterceptor {
  constructor(
    readonly owner: object,
    readonly registries: readonly HookRegistry[],
    readonly input: RunInput = NO_INPUT,
  ) {}

  /** The run in progress if `owner` started it. */
  static activeOf(owner: object): HookRun | undefined {
    const active = activeCallInterceptor();
    return active instanceof HookRun && active.owner === owner ? active : undefined;
  }

  /** This run with more registries after its own, and (if given) another input. */
  extended(registries: readonly HookRegistry[], input?: RunInput): HookRun {
    return new HookRun(this.owner, [...this.registries, ...registries], input ?? this.input);
  }

  /**
   * Runs fn (synchronous) with this run in progress, then restores the one before. A run with no
   * hooks at all puts no interceptor in, so the forward pass runs directly, and still hides any
   * outer run's hooks.
   */
  activate<T>(fn: () => T): T {
    return withCallInterceptor(this.registries.every((r) => r.empty) ? undefined : this, fn);
  }

  hooks(module: Module): boolean {
    return this.registries.some((r) => r.on(module) !== undefined);
  }

  /** Paths with hooks in this run. */
  hookedPaths(): string[] {
    return [...new Set(this.registries.flatMap((r) => r.hookedPaths()))];
  }

  intercept(module: Module, args: unknown[]): unknown {
    // Copies of the lists, so a hook that removes hooks does not change this call's.
    let at: ModuleHooks | undefined;
    const pre: PreHook[] = [];
    const post: Hook[] = [];
    for (const registry of this.registries) {
      const hooks = registry.on(module);
      if (hooks === undefined) continue;
      at ??= hooks;
      for (const { fn } of hooks.pre) pre.push(fn);
      for (const { fn } of hooks.post) post.push(fn);
    }
    if (at === undefined) return module.forward(...args);
    const { path, layer } = at;
    let inputs = args;
    for (const fn of pre) {
      const replaced = this.#invoke(path, "pre-hook", () =>
        fn(inputs[0] as MxArray, this.#context(module, path, layer, inputs)),
      );
      if (replaced === undefined) continue;
      if (Array.isArray(replaced)) {
        if (replaced.length !== inputs.length) {
          throw new HookError(
            `pre-hook on "${path}" returned ${replaced.length} inputs; the module takes ${inputs.length}`,
            path,
          );
        }
        replaced.forEach((value, i) => {
          if (inputs[i] instanceof MxArray) check(path, "pre-hook", value, inputs[i] as MxArray, `input ${i}`);
        });
        inputs = replaced;
      } else {
        check(path, "pre-hook", replaced, inputs[0], "input 0");
        inputs = [replaced, ...inputs.slice(1)];
      }
    }
    let output = module.forward(...inputs);
    for (const fn of post) {
      const replaced = this.#invoke(path, "hook", () =>
        fn(output as MxArray, this.#context(module, path, layer, inputs)),
      );
      if (replaced === undefined) continue;
      check(path, "hook", replaced, output, "output");
      output = replaced;
    }
    return output;
  }

  #context(module: Module, path: string, layer: number | undefined, inputs: readonly unknown[]): HookContext {
    const names = parameterNames(module);
    const named: Record<string, unknown> = {};
    names.forEach((name, i) => {
      if (i < inputs.length) named[name] = inputs[i];
    });
    return { path, module, layer, inputs, named, tokens: this.input.tokens, leftPadding: this.input.leftPadding };
  }

  #invoke<T>(path: string, kind: string, fn: () => T): T | undefined {
    let result: T;
    try {
      result = fn();
    } catch (error) {
      if (error instanceof HookError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new HookError(`${kind} on "${path}" threw: ${message}`, path, { cause: error });
    }
    if (result instanceof Promise) {
      throw new HookError(
        `${kind} on "${path}" returned a Promise; hooks run inside the forward pass and must be synchronous`,
        path,
      );
    }
    return result ?? undefined;
  }
}

// A replacement must look like what it replaces: an Array of the same shape and dtype.
function check(path: string, kind: string, replacement: unknown, original: unknown, what: string): void {
  if (!(original instanceof MxArray)) return;
  if (!(replacement instanceof MxArray)) {
    throw new HookError(
      `${kind} on "${path}" returned ${describe(replacement)} for its ${what}; return an mx.Array of shape [${original.shape}] and dtype ${original.dtype}, or undefined to keep it`,
      path,
    );
  }
  const [want, got] = [original.shape, replacement.shape];
  if (want.length !== got.length || want.some((d, i) => d !== got[i])) {
    throw new HookError(
      `${kind} on "${path}" returned shape [${got}] for its ${what}; it must keep shape [${want}]`,
      path,
    );
  }
  if (replacement.dtype !== original.dtype) {
    throw new HookError(
      `${kind} on "${path}" returned dtype ${replacement.dtype} for its ${what}; it must keep dtype ${original.dtype} (use mx.astype)`,
      path,
    );
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

/** Hooks by module, fired by the runs that hold this registry (HookRun). */
export class HookRegistry {
  readonly #hooks = new Map<Module, ModuleHooks>();

  /** Adds fn to the module found at `path`, after any hooks already there. */
  add(module: Module, path: string, layer: number | undefined, kind: "pre" | "post", fn: Hook | PreHook): HookHandle {
    let hooks = this.#hooks.get(module);
    if (hooks === undefined) {
      hooks = new ModuleHooks(path, layer);
      this.#hooks.set(module, hooks);
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
      if (owner.empty && this.#hooks.get(module) === owner) this.#hooks.delete(module);
    };
    return { remove, [Symbol.dispose]: remove };
  }

  /** The hooks on `module`, if it has any. */
  on(module: Module): ModuleHooks | undefined {
    return this.#hooks.get(module);
  }

  get empty(): boolean {
    return this.#hooks.size === 0;
  }

  /** Paths that have hooks here. */
  hookedPaths(): string[] {
    return [...this.#hooks.values()].map((h) => h.path);
  }

  /** Removes every hook. */
  clear(): void {
    this.#hooks.clear();
  }
}
