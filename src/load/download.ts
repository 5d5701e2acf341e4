// Downloads a model from the Hugging Face Hub into the shared cache (the layout of hub-cache.ts),
// through the maintained @huggingface/hub client. Only the files a model needs are fetched, as
// mlx-lm does: configs, weights, tokenizer files and chat templates.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { downloadFileToCacheDir, modelInfo } from "@huggingface/hub";
import { hubCacheDir, repoFolder } from "./hub-cache.ts";

/** The files mlx-lm fetches for a model (its allow-list, as globs on file names). */
const MODEL_FILE_PATTERNS = [
  /^[^/]*\.json$/,
  /^model[^/]*\.safetensors$/,
  /^tokenizer\.model$/,
  /^[^/]*\.tiktoken$/,
  /^tiktoken\.model$/,
  /^[^/]*\.txt$/,
  /^[^/]*\.jsonl$/,
  /^[^/]*\.jinja$/,
];

export function isModelFile(path: string): boolean {
  return MODEL_FILE_PATTERNS.some((pattern) => pattern.test(path));
}

export interface DownloadProgress {
  repoId: string;
  file: string;
  filesDone: number;
  filesTotal: number;
  /** Bytes received so far over the whole download. */
  bytes: number;
}

export interface DownloadOptions {
  revision?: string;
  cacheDir?: string;
  /** The Hub's address; defaults to $HF_ENDPOINT or https://huggingface.co. */
  hubUrl?: string;
  accessToken?: string;
  onProgress?: (progress: DownloadProgress) => void;
}

/**
 * Fetches the model files of `repoId` into the cache and returns the snapshot folder. Files
 * already cached are not fetched again. Writes refs/<revision> as huggingface_hub does, so Python
 * tools find the snapshot too.
 */
export async function downloadModel(repoId: string, options: DownloadOptions = {}): Promise<string> {
  const revision = options.revision ?? "main";
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const hubUrl = options.hubUrl ?? process.env.HF_ENDPOINT ?? "https://huggingface.co";
  const accessToken = options.accessToken ?? process.env.HF_TOKEN;
  let bytes = 0;
  let current = "";
  let filesDone = 0;
  let filesTotal = 0;
  const report = () => options.onProgress?.({ repoId, file: current, filesDone, filesTotal, bytes });
  const countingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (!response.body || !String(input instanceof Request ? input.url : input).includes("/resolve/")) return response;
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        report();
        controller.enqueue(chunk);
      },
    });
    return new Response(response.body.pipeThrough(counter), response);
  };
  const common = { hubUrl, fetch: countingFetch, ...(accessToken ? { accessToken } : {}) };

  let info: { sha?: string; filePaths?: string[] };
  try {
    info = (await modelInfo({
      name: repoId,
      revision,
      additionalFields: ["sha", "filePaths"],
      ...common,
    })) as typeof info;
  } catch (error) {
    throw new Error(`cannot reach the Hub for ${repoId} at ${hubUrl}: ${(error as Error).message}`);
  }
  if (!info.sha) throw new Error(`the Hub at ${hubUrl} did not give a commit for ${repoId}@${revision}`);
  const files = (info.filePaths ?? []).filter(isModelFile);
  if (!files.some((f) => f.endsWith(".safetensors"))) {
    throw new Error(`${repoId} on the Hub has no model*.safetensors files; is it an MLX checkpoint?`);
  }
  filesTotal = files.length;
  let snapshot = "";
  for (const file of files) {
    current = file;
    report();
    const pointer = await downloadFileToCacheDir({ repo: repoId, path: file, revision: info.sha, cacheDir, ...common });
    snapshot = pointer.slice(0, pointer.length - file.length - 1);
    filesDone++;
    report();
  }
  const refs = join(repoFolder(repoId, cacheDir), "refs");
  mkdirSync(refs, { recursive: true });
  if (revision !== info.sha) writeFileSync(join(refs, revision), info.sha);
  return snapshot;
}
