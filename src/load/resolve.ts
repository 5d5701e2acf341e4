// Where a model named by the user lives: a local folder, the Hugging Face cache, or the Hub.
import { existsSync, statSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { type DownloadOptions, downloadModel } from "./download.ts";
import { cachedSnapshot, hubCacheDir, isOffline, isRepoId } from "./hub-cache.ts";

export interface ResolveOptions extends DownloadOptions {
  /** Never contact the Hub (also set by HF_HUB_OFFLINE=1). */
  offline?: boolean;
}

/**
 * The folder holding the checkpoint `pathOrRepoId`: an existing folder as given; else a Hub id
 * ("owner/name") found in the cache; else downloaded, unless offline.
 */
export async function resolveModelPath(pathOrRepoId: string, options: ResolveOptions = {}): Promise<string> {
  if (existsSync(pathOrRepoId)) {
    const path = resolvePath(pathOrRepoId);
    if (!statSync(path).isDirectory()) {
      throw new Error(`${path} is a file; give the folder that holds config.json and the *.safetensors files`);
    }
    return path;
  }
  if (!isRepoId(pathOrRepoId)) {
    throw new Error(
      `no folder at ${resolvePath(pathOrRepoId)}, and "${pathOrRepoId}" is not a Hub id like "owner/name"`,
    );
  }
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const cached = cachedSnapshot(pathOrRepoId, options.revision ?? "main", cacheDir);
  if (cached) return cached;
  if (options.offline ?? isOffline()) {
    throw new Error(
      `${pathOrRepoId} is not in the Hugging Face cache (${cacheDir}) and the Hub may not be contacted ` +
        "(HF_HUB_OFFLINE is set). Download it once while online, or give a local folder.",
    );
  }
  return downloadModel(pathOrRepoId, { ...options, cacheDir });
}
