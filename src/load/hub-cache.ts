// The Hugging Face cache, laid out and located exactly as Python's huggingface_hub does, so models
// that Python tools downloaded are found here and ours are found there:
//   $HF_HUB_CACHE (default $HF_HOME/hub, HF_HOME default ~/.cache/huggingface)
//     models--{owner}--{name}/refs/{revision}      holds the commit hash
//     models--{owner}--{name}/snapshots/{commit}/  the files (links into blobs/)
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
  return join(home, "hub");
}

export function isOffline(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env.HF_HUB_OFFLINE ?? "").toLowerCase();
  return value === "1" || value === "true" || value === "yes" || value === "on";
}

/** "owner/name": the form of a Hub model id. */
export function isRepoId(text: string): boolean {
  return /^[\w.-]+\/[\w.-]+$/.test(text) && !text.startsWith(".") && !text.includes("..");
}

export function repoFolder(repoId: string, cacheDir = hubCacheDir()): string {
  return join(cacheDir, `models--${repoId.replaceAll("/", "--")}`);
}

/**
 * The snapshot folder of `repoId` at `revision` (a branch, tag or commit hash) in the cache, or
 * undefined when the cache does not hold it.
 */
export function cachedSnapshot(repoId: string, revision = "main", cacheDir = hubCacheDir()): string | undefined {
  const folder = repoFolder(repoId, cacheDir);
  const refFile = join(folder, "refs", revision);
  const commit = existsSync(refFile) ? readFileSync(refFile, "utf8").trim() : revision;
  const snapshot = join(folder, "snapshots", commit);
  return existsSync(snapshot) && statSync(snapshot).isDirectory() ? snapshot : undefined;
}
