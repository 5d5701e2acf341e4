// An ActivationCache on disk: one safetensors file, the activations under their keys, and in the
// header's metadata what the cache needs besides them (the order of the keys, the path aliases,
// the model's standard-name layout and a short identity of the model).
import type { CacheLayout } from "../analysis/cache-layout.ts";
import type { ModelIdentity } from "../analysis/readout.ts";
import type { MxArray } from "../mx/array.ts";
import * as mx from "../mx/index.ts";
import { type LayoutJSON, layoutToJSON, SavedLayout } from "./cache-layout.ts";

// The metadata entry that marks a cache, with its format version as value.
const CACHE_MARK = "mlux.activation_cache";
const CACHE_FORMAT_VERSION = "1";

export interface CacheContents {
  arrays: Map<string, MxArray>;
  aliases: Map<string, string>;
  layout: CacheLayout;
  identity: ModelIdentity | undefined;
}

/** Writes the cache; returns the path written (".safetensors" appended when missing, as MLX does). */
export function writeCache(path: string, contents: CacheContents): string {
  const metadata: Record<string, string> = {
    [CACHE_MARK]: CACHE_FORMAT_VERSION,
    keys: JSON.stringify([...contents.arrays.keys()]),
    aliases: JSON.stringify([...contents.aliases]),
    layout: JSON.stringify(layoutToJSON(contents.layout)),
  };
  if (contents.identity !== undefined) metadata.model = JSON.stringify(contents.identity);
  return mx.saveSafetensors(path, contents.arrays, metadata);
}

/** Reads a cache written by writeCache; a file that is not one fails with the reason. */
export function readCache(path: string): Omit<CacheContents, "layout"> & { layout: SavedLayout } {
  const { arrays, metadata } = mx.loadSafetensors(path);
  const release = () => {
    for (const a of Object.values(arrays)) a.dispose();
  };
  try {
    const bad = (why: string) => new Error(`${path} is not an mlux activation cache: ${why}`);
    const version = metadata[CACHE_MARK];
    if (version === undefined) {
      const entries = Object.entries(metadata).map(([k, v]) => `${k}=${v.length > 40 ? `${v.slice(0, 40)}...` : v}`);
      throw bad(
        `its metadata has no "${CACHE_MARK}" entry (it has: ${entries.join(", ") || "none"}); ` +
          "is it a model's weights? Caches are written by cache.save(path)",
      );
    }
    if (version !== CACHE_FORMAT_VERSION) {
      throw bad(`it is of format version ${version}; this mlux reads version ${CACHE_FORMAT_VERSION}`);
    }
    const keys = parse(metadata.keys, "keys", bad);
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) throw bad('"keys" is not a list of names');
    const stored = Object.keys(arrays).sort();
    const listed = [...keys].sort();
    if (stored.join("\n") !== listed.join("\n")) {
      const missing = listed.filter((k) => !(k in arrays));
      const extra = stored.filter((k) => !keys.includes(k));
      throw bad(
        `its arrays and its key list disagree (missing: ${missing.join(", ") || "none"}; not listed: ${extra.join(", ") || "none"})`,
      );
    }
    const aliases = parse(metadata.aliases, "aliases", bad);
    if (
      !Array.isArray(aliases) ||
      !aliases.every((p) => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === "string"))
    ) {
      throw bad('"aliases" is not a list of [path, key] pairs');
    }
    const layout = SavedLayout.parse(parse(metadata.layout, "layout", bad) as LayoutJSON, path);
    const identity = metadata.model === undefined ? undefined : (parse(metadata.model, "model", bad) as ModelIdentity);
    // Read now and owned by the cache: the file may change later, and no enclosing tidy() frees them.
    const ordered = (keys as string[]).map((k) => mx.keep(arrays[k] as MxArray));
    mx.eval(...ordered);
    return {
      arrays: new Map(ordered.map((a, i) => [keys[i] as string, a])),
      aliases: new Map(aliases as [string, string][]),
      layout,
      identity,
    };
  } catch (error) {
    release();
    throw error;
  }
}

function parse(text: string | undefined, field: string, bad: (why: string) => Error): unknown {
  if (text === undefined) throw bad(`its metadata has no "${field}"`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw bad(`its "${field}" metadata is not valid JSON (${(error as Error).message})`);
  }
}
