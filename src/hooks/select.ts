// Which activations a user means: module paths, standard names, glob patterns or a predicate, each
// resolved to targets up front, so a typo fails before the model runs, with the nearest valid names.
import type { HookTarget } from "../analysis/cache-layout.ts";
import type { Module } from "../nn/module.ts";
import { nearestNames } from "../nn/nearest.ts";
import { LAYER_NAMES, type StandardNames } from "./standard-names.ts";

/**
 * A module path (`<blocks>.3.mlp`, where <blocks> is the path of the block list), a standard key (`resid_post.3`, `pattern.0`, `embed`), a
 * standard name for every layer (`resid_post`), a glob over paths and keys (`*` one segment, `**`
 * any number: `<blocks>.*.mlp`, `pattern.*`), or a predicate over module paths.
 */
export type HookSelector = string | ((path: string, module: Module) => boolean);

/** A resolved target and the key its activation is cached under (the standard key where there is one). */
export interface SelectedTarget extends HookTarget {
  key: string;
}

export class TargetResolver {
  readonly #modules: Map<string, Module>;

  constructor(
    root: Module,
    readonly names: StandardNames,
  ) {
    this.#modules = new Map(root.namedModules().filter(([path]) => path !== ""));
  }

  /** Every module path (hook points included). */
  paths(): string[] {
    return [...this.#modules.keys()];
  }

  module(path: string): Module {
    const module = this.#modules.get(path);
    if (module === undefined) throw this.#unknown(path);
    return module;
  }

  /** The standard keys, then the module paths, that a glob or a RegExp matches (a full match for a glob). */
  find(pattern: string | RegExp): string[] {
    let test: (name: string) => boolean;
    if (pattern instanceof RegExp) {
      // A copy without the global and sticky flags, whose lastIndex would make test() stateful.
      const regExp = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""));
      test = (name) => regExp.test(name);
    } else if (typeof pattern === "string") {
      const glob = globToRegExp(pattern);
      test = (name) => glob.test(name);
    } else {
      throw new TypeError(`findHooks takes a glob string or a RegExp, not ${typeof pattern}`);
    }
    return [...this.names.keys().filter(test), ...this.paths().filter(test)];
  }

  /** The targets of one selector, in model order; throws if it names nothing. */
  resolve(selector: HookSelector): SelectedTarget[] {
    if (typeof selector === "function") {
      const found = [...this.#modules].filter(([path, module]) => selector(path, module));
      return found.map(([path]) => this.#fromPath(path));
    }
    if (typeof selector !== "string") {
      throw new TypeError(`a hook selector is a path, a standard name, a glob or a predicate, not ${typeof selector}`);
    }
    if (this.#modules.has(selector)) return [this.#fromPath(selector)];
    const standard = this.names.target(selector);
    if (standard) return [{ ...standard, key: selector }];
    if ((LAYER_NAMES as readonly string[]).includes(selector)) {
      const all = this.#standardMatching(new RegExp(`^${selector}\\.\\d+$`));
      if (all.length) return all;
      throw new Error(`this model has no "${selector}" activation in any layer`);
    }
    if (selector.includes("*")) {
      const pattern = globToRegExp(selector);
      const fromPaths = this.paths()
        .filter((p) => pattern.test(p))
        .map((p) => this.#fromPath(p));
      const found = fromPaths.length ? fromPaths : this.#standardMatching(pattern);
      if (found.length) return found;
      throw new Error(`the pattern "${selector}" matches no module path or standard name`);
    }
    throw this.#unknown(selector);
  }

  /** The union of several selectors' targets, each target once, in the order first selected. */
  resolveAll(selectors: readonly HookSelector[]): SelectedTarget[] {
    const out = new Map<string, SelectedTarget>();
    for (const selector of selectors) {
      for (const target of this.resolve(selector)) out.set(`${target.path}|${target.input}`, target);
    }
    return [...out.values()];
  }

  #fromPath(path: string): SelectedTarget {
    const target = { path, input: false };
    return { ...target, key: this.names.keyOf(target) ?? path };
  }

  #standardMatching(pattern: RegExp): SelectedTarget[] {
    return this.names
      .keys()
      .filter((key) => pattern.test(key))
      .map((key) => ({ ...(this.names.target(key) as HookTarget), key }));
  }

  #unknown(name: string): Error {
    const candidates = [...this.paths(), ...this.names.keys()];
    return new Error(
      `no module or standard name "${name}". Nearest valid: ${nearestNames(name, candidates, 5).join(", ")}`,
    );
  }
}

// `*` is one path segment; `**` any number of segments (`a.**.b` matches `a.b` too; a final `**` one or more).
function globToRegExp(glob: string): RegExp {
  const literal = (text: string) => text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  const segments = glob.split(".");
  let body = "";
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === "**") body += last ? ".+" : "(?:[^.]+\\.)*";
    else body += segment.split("*").map(literal).join("[^.]+") + (last ? "" : "\\.");
  });
  return new RegExp(`^${body}$`);
}
