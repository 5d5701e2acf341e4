// A local HTTP server that serves folders in the Hugging Face Hub's URL layout, enough for the
// @huggingface/hub client and for Python's huggingface_hub to download from it.
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface RepoFile {
  path: string;
  data: Buffer;
  oid: string;
}

interface Repo {
  sha: string;
  files: Map<string, RepoFile>;
}

export interface FakeHub {
  url: string;
  /** Every request line served, e.g. "GET /api/models/a/b/revision/main". */
  requests: string[];
  close(): Promise<void>;
}

function loadRepo(folder: string, sha: string): Repo {
  const files = new Map<string, RepoFile>();
  for (const name of readdirSync(folder)) {
    const data = readFileSync(join(folder, name));
    files.set(name, { path: name, data, oid: createHash("sha256").update(data).digest("hex") });
  }
  return { sha, files };
}

/** A folder holding `checkpoint`'s weights under a config.json naming a model_type mlux does not run. */
export function withUnsupportedType(checkpoint: string, modelType = "bert"): string {
  const folder = mkdtempSync(join(tmpdir(), `mlux-${modelType}-`));
  const config = JSON.parse(readFileSync(join(checkpoint, "config.json"), "utf8"));
  writeFileSync(join(folder, "config.json"), JSON.stringify({ ...config, model_type: modelType }));
  copyFileSync(join(checkpoint, "model.safetensors"), join(folder, "model.safetensors"));
  return folder;
}

export interface FakeHubOptions {
  /** Serve file bodies in pieces of this many bytes, waiting `pieceDelayMs` before each (default: at once). */
  pieceBytes?: number;
  pieceDelayMs?: number;
  /** Send file headers, then nothing more (a Hub that stops answering mid-download). */
  stallBodies?: boolean;
}

/** Serves each `repos[repoId]` folder as that repo, at a fixed fake commit. */
export async function startFakeHub(repos: Record<string, string>, options: FakeHubOptions = {}): Promise<FakeHub> {
  const served = new Map<string, Repo>();
  for (const [id, folder] of Object.entries(repos)) {
    served.set(id, loadRepo(folder, createHash("sha1").update(id).digest("hex")));
  }
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handle(served, req, res, options).catch((error) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function json(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(value));
}

function notFound(res: ServerResponse, code: string): void {
  res.writeHead(404, { "X-Error-Code": code, "Content-Type": "text/plain" }).end(code);
}

async function handle(
  repos: Map<string, Repo>,
  req: IncomingMessage,
  res: ServerResponse,
  options: FakeHubOptions,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://hub");
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  // /api/models/{owner}/{name}/{revision | paths-info | tree}/{rev}
  if (parts[0] === "api" && parts[1] === "models") {
    const repo = repos.get(`${parts[2]}/${parts[3]}`);
    if (!repo) return notFound(res, "RepoNotFound");
    const files = [...repo.files.values()];
    if (parts[4] === "revision") {
      return json(res, {
        _id: repo.sha.slice(0, 24),
        id: `${parts[2]}/${parts[3]}`,
        sha: repo.sha,
        private: false,
        siblings: files.map((f) => ({ rfilename: f.path })),
      });
    }
    if (parts[4] === "paths-info") {
      const wanted = (JSON.parse((await body(req)) || "{}") as { paths?: string[] }).paths ?? [];
      return json(
        res,
        files
          .filter((f) => wanted.includes(f.path))
          .map((f) => ({ type: "file", path: f.path, size: f.data.length, oid: f.oid, lastCommit: { id: repo.sha } })),
      );
    }
    if (parts[4] === "tree") {
      return json(
        res,
        files.map((f) => ({ type: "file", path: f.path, size: f.data.length, oid: f.oid })),
      );
    }
    return notFound(res, "EntryNotFound");
  }
  // /{owner}/{name}/resolve/{rev}/{path}
  if (parts[2] === "resolve") {
    const repo = repos.get(`${parts[0]}/${parts[1]}`);
    const file = repo?.files.get(parts.slice(4).join("/"));
    if (!repo || !file) return notFound(res, "EntryNotFound");
    const headers: Record<string, string> = {
      ETag: `"${file.oid}"`,
      "X-Repo-Commit": repo.sha,
      "Accept-Ranges": "bytes",
      "Content-Type": "application/octet-stream",
    };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    let data = file.data;
    let status = 200;
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), file.data.length - 1) : file.data.length - 1;
      data = file.data.subarray(start, end + 1);
      headers["Content-Range"] = `bytes ${start}-${end}/${file.data.length}`;
      status = 206;
    }
    headers["Content-Length"] = String(data.length);
    res.writeHead(status, headers);
    if (req.method === "HEAD") return void res.end();
    if (options.stallBodies) return void res.flushHeaders();
    const piece = options.pieceBytes ?? data.length;
    for (let at = 0; at < data.length && !res.destroyed; at += piece) {
      if (options.pieceDelayMs) await new Promise((resolve) => setTimeout(resolve, options.pieceDelayMs));
      res.write(data.subarray(at, at + piece));
    }
    res.end();
    return;
  }
  notFound(res, "EntryNotFound");
}

/** The address of a port nothing listens on (connections are refused): one just freed. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}
