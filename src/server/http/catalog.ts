// The models the picker offers: the fixtures the package ships and the models already in the
// Hugging Face cache. And where a model named in a request is, or why it cannot be loaded (a 404).
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { cachedSnapshot, hubCacheDir, isRepoId } from "../../load/hub-cache.ts";
import type { CatalogEntry } from "../protocol.ts";

export function catalog(fixturesDir: string, cacheDir = hubCacheDir()): CatalogEntry[] {
  const entries: CatalogEntry[] = [];
  for (const name of listDir(fixturesDir)) {
    const path = join(fixturesDir, name);
    if (existsSync(join(path, "config.json"))) entries.push({ model: path, label: name, source: "fixture" });
  }
  for (const name of listDir(cacheDir)) {
    const match = /^models--(.+?)--(.+)$/.exec(name);
    if (match === null) continue;
    const id = `${match[1]}/${match[2]}`;
    const snapshot = cachedSnapshot(id, "main", cacheDir);
    if (snapshot !== undefined && existsSync(join(snapshot, "config.json"))) {
      entries.push({ model: id, label: id, source: "hub-cache" });
    }
  }
  return entries;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Why `model` cannot be loaded as it is (an uncached Hub id needs /api/download first), or undefined if it can be tried. */
export function whyNotFound(model: string, cacheDir = hubCacheDir()): string | undefined {
  if (existsSync(model)) {
    const path = resolve(model);
    if (!statSync(path).isDirectory()) return `${path} is a file; give the folder that holds config.json`;
    if (!existsSync(join(path, "config.json"))) return `${path} holds no config.json: it is not a checkpoint folder`;
    return undefined;
  }
  if (isRepoId(model)) {
    if (cachedSnapshot(model, "main", cacheDir) !== undefined) return undefined;
    return `${model} is not in the Hugging Face cache (${cacheDir}); download it first (POST /api/download, the page's Hub id field, or \`mlux serve --model ${model}\`)`;
  }
  return `no folder at ${resolve(model)}, and "${model}" is not a Hub id like "owner/name"`;
}
