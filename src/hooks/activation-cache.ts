// The activations one run recorded, by standard key (`resid_post.3`, `pattern.0`) or module path.
import type { MxArray } from "../mx/array.ts";
import type { StandardName, StandardNames } from "./standard-names.ts";

export class ActivationCache {
  readonly #arrays: Map<string, MxArray>;
  readonly #aliases: Map<string, string>;
  /** The model's layout, for standard-name lookups and the residual-stream utilities. */
  readonly names: StandardNames;

  /** @internal Made by HookedModel.runWithCache; `aliases` maps module paths to keys. */
  constructor(arrays: Map<string, MxArray>, aliases: Map<string, string>, names: StandardNames) {
    this.#arrays = arrays;
    this.#aliases = aliases;
    this.names = names;
  }

  /** The keys held, in the order the model produced them. */
  keys(): string[] {
    return [...this.#arrays.keys()];
  }

  has(key: string, layer?: number): boolean {
    return this.#resolve(key, layer) !== undefined;
  }

  /**
   * The activation under a standard key or module path: get("resid_post.3"), get("resid_post", 3),
   * get("model.layers.3"). The Array stays owned by the cache.
   */
  get(key: StandardName | string, layer?: number): MxArray {
    const resolved = this.#resolve(key, layer);
    if (resolved === undefined) {
      const asked = layer === undefined ? key : `${key}.${layer}`;
      throw new Error(`the cache holds no "${asked}"; it holds: ${this.keys().join(", ") || "nothing"}`);
    }
    return this.#arrays.get(resolved) as MxArray;
  }

  /** Bytes of every cached Array. */
  get nbytes(): number {
    let total = 0;
    for (const a of this.#arrays.values()) total += a.nbytes;
    return total;
  }

  get size(): number {
    return this.#arrays.size;
  }

  entries(): [string, MxArray][] {
    return [...this.#arrays];
  }

  /** Releases every cached Array. */
  dispose(): void {
    for (const a of this.#arrays.values()) a.dispose();
    this.#arrays.clear();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #resolve(key: string, layer?: number): string | undefined {
    const full = layer === undefined ? key : `${key}.${layer}`;
    if (this.#arrays.has(full)) return full;
    const alias = this.#aliases.get(full);
    return alias !== undefined && this.#arrays.has(alias) ? alias : undefined;
  }
}
