// Downloads a model from the Hugging Face Hub into the shared cache (the layout of hub-cache.ts): the
// commit and the file list through the maintained @huggingface/hub client, then each file streamed
// from the Hub's resolve route into blobs/<etag>.incomplete, renamed once whole and linked from
// snapshots/<commit>/. Only the files a model needs are fetched, as mlx-lm does: configs, weights,
// tokenizer files and chat templates. A cancel (the signal) or a failure removes what this download
// wrote, so the cache never holds a half file. Nothing here blocks: it is all network and file I/O.
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { HubApiError, listFiles, modelInfo } from "@huggingface/hub";
import { hubCacheDir, isRepoId, repoFolder } from "./hub-cache.ts";

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
  /** The file being fetched, its bytes so far and its size. */
  file: string;
  fileBytes: number;
  fileTotal: number;
  filesDone: number;
  filesTotal: number;
  /** Bytes of the whole download so far (files already cached count as done) and their total. */
  bytes: number;
  totalBytes: number;
}

export interface DownloadOptions {
  revision?: string;
  cacheDir?: string;
  /** The Hub's address; defaults to $HF_ENDPOINT or https://huggingface.co. */
  hubUrl?: string;
  accessToken?: string;
  onProgress?: (progress: DownloadProgress) => void;
  /** Cancels the download; what it wrote is removed and it rejects with a DownloadError (kind "cancelled"). */
  signal?: AbortSignal;
  /** Longest wait for an answer or for the next bytes of a file, in ms (default 30,000; HF_HUB_DOWNLOAD_TIMEOUT in s). */
  timeoutMs?: number;
  /**
   * Called with config.json's parsed contents as soon as it is fetched (or found cached), before any
   * weights: a throw stops the download, removes what it wrote, and fails it with a DownloadError of
   * kind "unsupported" carrying the thrown message (which should name the model). loadModel passes the
   * check that mlux runs the model's architecture, so an unsupported model costs one small file, not
   * gigabytes. A config.json that is not JSON fails the download as "not-a-model".
   */
  checkConfig?: (config: unknown) => void;
}

export type DownloadErrorKind =
  | "not-found"
  | "denied"
  | "not-a-model"
  | "unsupported"
  | "unreachable"
  | "disk"
  | "cancelled"
  | "hub";

/** Why a download failed, in words a user can act on; `kind` for code that reacts to it. */
export class DownloadError extends Error {
  override readonly name = "DownloadError";
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export function hubEndpoint(hubUrl?: string): string {
  return (hubUrl ?? process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
}

interface RemoteFile {
  path: string;
  size: number;
  /** The blob's name in the cache: the LFS sha256, else the git object id (as huggingface_hub names them). */
  etag: string;
}

/**
 * Fetches the model files of `repoId` into the cache and returns the snapshot folder. Files
 * already cached are not fetched again. Writes refs/<revision> as huggingface_hub does, so Python
 * tools find the snapshot too. Fails with a DownloadError.
 */
export async function downloadModel(repoId: string, options: DownloadOptions = {}): Promise<string> {
  const revision = options.revision ?? "main";
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const hubUrl = hubEndpoint(options.hubUrl);
  const accessToken = options.accessToken ?? process.env.HF_TOKEN;
  const envTimeout = Number(process.env.HF_HUB_DOWNLOAD_TIMEOUT);
  const timeoutMs = options.timeoutMs ?? (envTimeout > 0 ? envTimeout * 1000 : 30_000);
  const cancel = options.signal;
  const explain = (error: unknown, what: string) => explainError(error, { repoId, hubUrl, what, timeoutMs, cancel });
  // Each request waits at most timeoutMs for its answer, and stops at once on a cancel.
  const timedFetch: typeof fetch = (input, init) => {
    const signals = [AbortSignal.timeout(timeoutMs), ...(cancel ? [cancel] : [])];
    return fetch(input, { ...init, signal: AbortSignal.any(signals) });
  };
  const common = { hubUrl, fetch: timedFetch, ...(accessToken ? { accessToken } : {}) };

  if (!isRepoId(repoId)) throw new Error(`"${repoId}" is not a Hub id like "owner/name"`);
  if (cancel?.aborted) throw cancelled(repoId);
  let sha: string | undefined;
  try {
    sha = ((await modelInfo({ name: repoId, revision, additionalFields: ["sha"], ...common })) as { sha?: string }).sha;
  } catch (error) {
    throw explain(error, "asking for the model");
  }
  if (sha === undefined)
    throw new DownloadError("hub", `the Hub at ${hubUrl} gave no commit for ${repoId}@${revision}`);

  const all: RemoteFile[] = [];
  try {
    for await (const entry of listFiles({ repo: repoId, revision: sha, recursive: true, ...common })) {
      if (entry.type !== "file") continue;
      const etag = entry.lfs?.oid ?? entry.oid;
      if (!etag) throw new DownloadError("hub", `the Hub at ${hubUrl} gave no object id for ${repoId}/${entry.path}`);
      all.push({ path: entry.path, size: entry.lfs?.size ?? entry.size, etag });
    }
  } catch (error) {
    throw explain(error, "listing the model's files");
  }
  // config.json first, so that checkConfig runs before any weights are fetched.
  const files = all
    .filter((f) => isModelFile(f.path))
    .sort((a, b) => Number(b.path === "config.json") - Number(a.path === "config.json"));
  checkCheckpoint(repoId, all, files);

  const folder = repoFolder(repoId, cacheDir);
  const existed = existsSync(folder);
  const snapshot = join(folder, "snapshots", sha);
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  const written: string[] = [];
  let bytes = 0;
  let filesDone = 0;
  const report = (file: RemoteFile, fileBytes: number) =>
    options.onProgress?.({
      repoId,
      file: file.path,
      fileBytes,
      fileTotal: file.size,
      filesDone,
      filesTotal: files.length,
      bytes,
      totalBytes,
    });
  try {
    const missing = files.filter((f) => !existsSync(join(snapshot, f.path)));
    checkSpace(
      cacheDir,
      missing.filter((f) => !existsSync(join(folder, "blobs", f.etag))),
    );
    for (const file of files) {
      const pointer = join(snapshot, file.path);
      const blob = join(folder, "blobs", file.etag);
      if (!existsSync(pointer)) {
        if (!existsSync(blob)) {
          const url = `${hubUrl}/${repoId}/resolve/${sha}/${file.path.split("/").map(encodeURIComponent).join("/")}`;
          await fetchToFile(url, `${blob}.incomplete`, {
            accessToken,
            timeoutMs,
            cancel,
            written,
            onBytes: (n, fileBytes) => {
              bytes += n;
              report(file, fileBytes);
            },
          });
          renameSync(`${blob}.incomplete`, blob);
          written.push(blob);
        }
        mkdirSync(dirname(pointer), { recursive: true });
        symlinkSync(relative(dirname(pointer), blob), pointer);
        written.push(pointer);
      } else {
        bytes += file.size;
      }
      filesDone++;
      report(file, file.size);
      if (file.path === "config.json" && options.checkConfig) checkConfigFile(repoId, pointer, options.checkConfig);
    }
    if (revision !== sha) {
      mkdirSync(join(folder, "refs"), { recursive: true });
      writeFileSync(join(folder, "refs", revision), sha);
    }
    return snapshot;
  } catch (error) {
    // Leave the cache as it was: a repository folder this download made goes whole, else what it wrote.
    try {
      if (!existed) rmSync(folder, { recursive: true, force: true });
      else for (const path of written) rmSync(path, { force: true });
    } catch {
      // Nothing to remove where nothing could be written (the reason is the error below).
    }
    throw explain(error, "downloading the files");
  }
}

interface FetchToFileOptions {
  accessToken: string | undefined;
  timeoutMs: number;
  cancel: AbortSignal | undefined;
  /** Paths created, for the cleanup. */
  written: string[];
  onBytes: (received: number, fileBytes: number) => void;
}

// Streams one file to `target`, with a timer that fails it when no bytes came for timeoutMs.
async function fetchToFile(url: string, target: string, options: FetchToFileOptions): Promise<void> {
  const stall = new AbortController();
  let timer = setTimeout(() => stall.abort(new StallTimeout()), options.timeoutMs);
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(new StallTimeout()), options.timeoutMs);
  };
  const signal = AbortSignal.any([stall.signal, ...(options.cancel ? [options.cancel] : [])]);
  try {
    const response = await fetch(url, {
      signal,
      ...(options.accessToken ? { headers: { authorization: `Bearer ${options.accessToken}` } } : {}),
    });
    if (!response.ok || response.body === null) {
      throw new HubApiError(url, response.status, undefined, `${response.status} ${response.statusText} for ${url}`);
    }
    mkdirSync(dirname(target), { recursive: true });
    options.written.push(target);
    const out = createWriteStream(target);
    const failed = new Promise<never>((_, reject) => out.once("error", reject));
    failed.catch(() => {});
    let fileBytes = 0;
    try {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value: bytes } = await reader.read();
        if (done) break;
        rearm();
        if (!out.write(bytes))
          await Promise.race([new Promise<void>((resolve) => out.once("drain", () => resolve())), failed]);
        fileBytes += bytes.byteLength;
        options.onBytes(bytes.byteLength, fileBytes);
      }
      await Promise.race([new Promise<void>((resolve) => out.end(resolve)), failed]);
    } finally {
      // Closed before the caller removes the file, so no write lands after the removal.
      if (!out.closed) await new Promise<void>((resolve) => out.destroy().once("close", () => resolve()));
    }
  } finally {
    clearTimeout(timer);
  }
}

class StallTimeout extends Error {}

function checkConfigFile(repoId: string, path: string, check: (config: unknown) => void): void {
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new DownloadError("not-a-model", `${repoId}'s config.json is not valid JSON: ${(error as Error).message}`);
  }
  try {
    check(config);
  } catch (error) {
    throw new DownloadError("unsupported", error instanceof Error ? error.message : String(error));
  }
}

/** A checkpoint mlux loads has a config.json and safetensors weights; else say what the repository holds. */
function checkCheckpoint(repoId: string, all: readonly RemoteFile[], files: readonly RemoteFile[]): void {
  const found =
    all.length === 0
      ? "no files"
      : all
          .map((f) => f.path)
          .slice(0, 12)
          .join(", ") + (all.length > 12 ? " ..." : "");
  if (!files.some((f) => f.path === "config.json")) {
    throw new DownloadError(
      "not-a-model",
      `${repoId} has no config.json, so it is not a model checkpoint (it holds ${found})`,
    );
  }
  if (!files.some((f) => f.path.endsWith(".safetensors"))) {
    const other = all.find((f) => /\.(bin|gguf|pt|pth|ckpt|onnx|h5|msgpack)$/.test(f.path));
    throw new DownloadError(
      "not-a-model",
      `${repoId} has no model*.safetensors weights (it holds ${found})${other ? `: ${other.path} is a format mlux does not load` : ""}; ` +
        "mlux loads MLX or Hugging Face safetensors checkpoints (look for an mlx-community/ version)",
    );
  }
}

/** Fails before writing anything when the disk holding the cache has less room than the files need. */
function checkSpace(cacheDir: string, files: readonly RemoteFile[]): void {
  const needed = files.reduce((sum, f) => sum + f.size, 0);
  let dir = cacheDir;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const { bavail, bsize } = statfsSync(dir);
  const free = bavail * bsize;
  if (needed > free) {
    throw new DownloadError(
      "disk",
      `the download needs ${formatBytes(needed)} and the disk holding ${cacheDir} has ${formatBytes(free)} free; free some space or set HF_HUB_CACHE to another disk`,
    );
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function cancelled(repoId: string): DownloadError {
  return new DownloadError("cancelled", `the download of ${repoId} was cancelled; nothing of it is left in the cache`);
}

interface ErrorContext {
  repoId: string;
  hubUrl: string;
  what: string;
  timeoutMs: number;
  cancel: AbortSignal | undefined;
}

// One error a user can act on, from whatever fetch, the Hub client or the file system threw.
function explainError(error: unknown, { repoId, hubUrl, what, timeoutMs, cancel }: ErrorContext): DownloadError {
  if (error instanceof DownloadError) return error;
  if (cancel?.aborted) return cancelled(repoId);
  if (error instanceof HubApiError) {
    if (error.statusCode === 404) {
      return new DownloadError(
        "not-found",
        `${repoId} was not found on the Hub at ${hubUrl} (404): check the id ("owner/name"), its spelling and case`,
      );
    }
    if (error.statusCode === 401 || error.statusCode === 403) {
      return new DownloadError(
        "denied",
        `the Hub at ${hubUrl} refused ${repoId} (${error.statusCode}): it is private or gated; accept its terms on the Hub and set HF_TOKEN`,
      );
    }
    return new DownloadError(
      "hub",
      `the Hub at ${hubUrl} answered ${error.statusCode} while ${what} for ${repoId}: ${error.message}`,
    );
  }
  const code = errorCode(error);
  const isTimeout =
    error instanceof StallTimeout ||
    (error instanceof Error &&
      (error.name === "TimeoutError" || errorCode((error as { cause?: unknown }).cause) === "UND_ERR_CONNECT_TIMEOUT"));
  if (isTimeout) {
    return new DownloadError(
      "unreachable",
      `the Hub at ${hubUrl} did not answer within ${timeoutMs / 1000} s while ${what} for ${repoId}: this machine cannot reach it (no network, or a firewall); set HF_ENDPOINT to a mirror it can reach, or give a local folder`,
    );
  }
  // A file-system error names the path it failed on; a network one does not.
  const path = (error as { path?: unknown }).path;
  if (code !== undefined && typeof path === "string") {
    const why =
      code === "ENOSPC" || code === "EDQUOT"
        ? "the disk is full"
        : code === "EACCES" || code === "EPERM" || code === "EROFS"
          ? "no permission to write there"
          : code === "ENOTDIR" || code === "EEXIST"
            ? "a file stands where a folder is needed"
            : "a file-system error";
    return new DownloadError("disk", `cannot write ${repoId} into the cache at ${path} (${code}: ${why})`);
  }
  if (error instanceof TypeError || (code !== undefined && /^(E|UND_ERR)/.test(code))) {
    return new DownloadError(
      "unreachable",
      `cannot reach the Hub at ${hubUrl} while ${what} for ${repoId}${code ? ` (${code})` : ""}: this machine has no connection to it; check the network, or set HF_ENDPOINT to a mirror it can reach, or give a local folder`,
    );
  }
  return new DownloadError(
    "hub",
    `${what} for ${repoId} failed: ${error instanceof Error ? error.message : String(error)}`,
  );
}

// The system's error code, also where fetch wraps it ("fetch failed", its cause the socket's error).
function errorCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
