// Module: a named tree of layers and parameters, with paths exactly as mlx-lm's attribute paths
// (`model.layers.3.self_attn.q_proj`), so weights load by name and hooks address modules by path.
import { MxArray } from "../mx/array.ts";
import { astype } from "../mx/creation.ts";
import type { DType } from "../mx/dtype.ts";
import { isFloating } from "../mx/dtype.ts";
import { evaluate } from "../mx/runtime.ts";
import { nearestNames } from "./nearest.ts";

/**
 * What the hooks layer puts between a module call and its computation while a run is active:
 * call() hands it the module and its inputs, and returns what it returns.
 */
export interface CallInterceptor {
  /** Runs the module (module.forward(...args)) with whatever the run has for it. */
  intercept(module: Module, args: unknown[]): unknown;
  /** Whether the run has hooks on this module (modules skip work only a hook would see). */
  hooks(module: Module): boolean;
}

// The interceptor of the run in progress, if any. Runs are synchronous and nest, so one slot with
// save-and-restore suffices; with none, call() is a direct forward().
let activeInterceptor: CallInterceptor | undefined;

/**
 * Runs fn with `interceptor` seeing every module call (undefined: none), then restores the one
 * that was active before, also when fn throws. `fn` must be synchronous.
 */
export function withCallInterceptor<T>(interceptor: CallInterceptor | undefined, fn: () => T): T {
  const outer = activeInterceptor;
  activeInterceptor = interceptor;
  try {
    return fn();
  } finally {
    activeInterceptor = outer;
  }
}

/** The interceptor of the run in progress, if any. */
export function activeCallInterceptor(): CallInterceptor | undefined {
  return activeInterceptor;
}

/**
 * Children and parameters are found from a module's own properties, as in MLX's Python Module:
 * a Module is a child, an Array is a parameter, a plain list of Modules is a numbered list of
 * children (`layers.0`, `layers.1` ...). Properties whose names start with "_" are neither
 * (buffers such as RoPE frequencies live there).
 */
export abstract class Module {
  /**
   * The names of forward()'s inputs, in order, as hooks see them (`ctx.named`). A class whose
   * forward takes more than one array declares its own (attention: x, mask, cache).
   */
  static readonly inputNames: readonly string[] = ["x"];

  /** The computation of this module; parents run children through call(), not forward(). */
  // biome-ignore lint/suspicious/noExplicitAny: each module narrows its own signature.
  forward(..._args: any[]): unknown {
    throw new Error(`${this.constructor.name} has no forward computation`);
  }

  /**
   * Runs the module. Every module-to-module call goes through here, which is where hooks will
   * see and change what flows (the same path-addressed points as mlx-lm's module tree).
   */
  call<M extends Module>(this: M, ...args: Parameters<M["forward"]>): ReturnType<M["forward"]> {
    if (activeInterceptor === undefined) return this.forward(...args) as ReturnType<M["forward"]>;
    return activeInterceptor.intercept(this, args) as ReturnType<M["forward"]>;
  }

  /**
   * Whether the run in progress has hooks here (modules skip work only a hook would see, e.g.
   * per-head results).
   */
  get hooked(): boolean {
    return activeInterceptor?.hooks(this) ?? false;
  }

  /** Own children in declaration order, hook points (HookPoint children, `hook_*`) last: [name, child]. */
  children(): [string, Module][] {
    const modules: [string, Module][] = [];
    const hookPoints: [string, Module][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (key.startsWith("_")) continue;
      if (value instanceof Module) (key.startsWith("hook_") ? hookPoints : modules).push([key, value]);
      else if (Array.isArray(value)) {
        value.forEach((item, i) => {
          if (item instanceof Module) modules.push([`${key}.${i}`, item]);
        });
      }
    }
    return [...modules, ...hookPoints];
  }

  /** Every module in the tree (this one first, path ""), depth-first in declaration order. */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.children()) {
      out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    }
    return out;
  }

  /** Own parameters: [name, array]. */
  ownParameters(): [string, MxArray][] {
    const out: [string, MxArray][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (!key.startsWith("_") && value instanceof MxArray) out.push([key, value]);
    }
    return out;
  }

  /** Every parameter in the tree by its full dotted name (`model.norm.weight`). */
  parameters(): Map<string, MxArray> {
    const out = new Map<string, MxArray>();
    for (const [path, module] of this.namedModules()) {
      for (const [name, value] of module.ownParameters()) out.set(path ? `${path}.${name}` : name, value);
    }
    return out;
  }

  /** The module at a dotted path; an unknown path throws an error naming the nearest valid ones. */
  getModule(path: string): Module {
    if (path === "") return this;
    const found = new Map(this.namedModules());
    const module = found.get(path);
    if (module) return module;
    const suggestions = nearestNames(
      path,
      [...found.keys()].filter((p) => p !== ""),
      5,
    );
    throw new Error(`no module at path "${path}". Nearest valid paths: ${suggestions.join(", ")}`);
  }

  /**
   * Replaces parameters by name. With `strict` (the default) the names must be exactly this
   * module's parameters and every shape must match; all problems are listed in one error, and
   * nothing is changed unless all is well. Without `strict`, unknown names are ignored.
   */
  loadWeights(weights: Map<string, MxArray> | Record<string, MxArray>, options: { strict?: boolean } = {}): void {
    const strict = options.strict ?? true;
    const incoming = weights instanceof Map ? weights : new Map(Object.entries(weights));
    const current = this.parameters();
    const problems: string[] = [];
    if (strict) {
      const unexpected = [...incoming.keys()].filter((k) => !current.has(k)).sort();
      const missing = [...current.keys()].filter((k) => !incoming.has(k)).sort();
      if (unexpected.length) problems.push(`${unexpected.length} unexpected: ${unexpected.join(", ")}`);
      if (missing.length) problems.push(`${missing.length} missing: ${missing.join(", ")}`);
    }
    for (const [name, value] of incoming) {
      const existing = current.get(name);
      if (!existing) continue;
      if (!(value instanceof MxArray)) {
        problems.push(`${name} is not an Array`);
        continue;
      }
      const [want, got] = [existing.shape, value.shape];
      if (strict && (want.length !== got.length || want.some((d, i) => d !== got[i]))) {
        problems.push(`${name} has shape [${got}], the model expects [${want}]`);
      }
    }
    if (problems.length) throw new Error(`cannot load weights: ${problems.join("; ")}`);
    const modules = new Map(this.namedModules());
    for (const [name, value] of incoming) {
      if (current.has(name)) assignParameter(modules, name, value);
    }
  }

  /**
   * Casts every floating-point parameter to `dtype` (integer ones, e.g. quantized weights, stay).
   * One parameter at a time, each computed before the next, so the two copies of the whole model
   * never coexist.
   */
  setDtype(dtype: DType): void {
    const modules = new Map(this.namedModules());
    for (const [name, value] of this.parameters()) {
      if (isFloating(value.dtype) && value.dtype !== dtype) {
        const cast = astype(value, dtype);
        evaluate(cast);
        assignParameter(modules, name, cast);
        value.dispose();
      }
    }
  }

  /** Disposes every parameter. */
  dispose(): void {
    for (const value of this.parameters().values()) value.dispose();
  }
}

function assignParameter(modules: Map<string, Module>, path: string, value: MxArray): void {
  const dot = path.lastIndexOf(".");
  const owner = modules.get(dot < 0 ? "" : path.slice(0, dot)) as Module;
  (owner as unknown as Record<string, MxArray>)[path.slice(dot + 1)] = value;
}
