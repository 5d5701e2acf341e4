// POST /api/download: a Hub model fetched into the Hugging Face cache, then loaded through the queue
// like any model switch. It runs here, on the HTTP thread: a download is network and file I/O,
// asynchronous, which this thread's event loop interleaves with every other request (health, the
// pages, tokenizing), while the model's thread stays free to compute, and a job there, one
// synchronous call, would hold up the download's I/O for as long as it runs. The stream sends the
// progress as chunks (at most every PROGRESS_MS, and at each file's end), then the load's events.
// The client leaving cancels the download, which removes what it wrote, or stops the load.
import type { FastifyReply, FastifyRequest } from "fastify";
import { DownloadError, downloadModel } from "../../load/download.ts";
import { cachedSnapshot } from "../../load/hub-cache.ts";
import { checkRunnableConfig } from "../../models/model-types.ts";
import type { DownloadChunk, DownloadRequest, StreamEvent } from "../protocol.ts";
import { sendEvent, startEventStream } from "./event-stream.ts";
import type { JobQueue } from "./queue.ts";

const PROGRESS_MS = 100;

/** Repository ids being downloaded now: a second request for one is refused. */
const active = new Set<string>();

export function isDownloading(repoId: string): boolean {
  return active.has(repoId);
}

export async function downloadAndLoad(
  queue: JobQueue,
  body: DownloadRequest,
  request: FastifyRequest,
  reply: FastifyReply,
  hubUrl: string | undefined,
): Promise<void> {
  const { model, revision } = body;
  startEventStream(reply);
  const raw = reply.raw;
  const write = (event: StreamEvent) => sendEvent(reply, event);
  const cancel = new AbortController();
  let loadId: number | undefined;
  let ended = false;
  const onGone = () => {
    if (ended) return;
    cancel.abort();
    if (loadId !== undefined) queue.stop(loadId);
  };
  raw.on("close", onGone);
  request.raw.on("error", onGone);

  active.add(model);
  let lastSent = 0;
  try {
    // One already in the cache loads from there without asking the Hub, as every command does
    // (load/resolve.ts): it works offline, and a cached model does not wait on the network.
    if (cachedSnapshot(model, revision) === undefined)
      await downloadModel(model, {
        ...(revision === undefined ? {} : { revision }),
        ...(hubUrl === undefined ? {} : { hubUrl }),
        signal: cancel.signal,
        checkConfig: (config) => checkRunnableConfig(config, model),
        onProgress: (progress) => {
          const now = Date.now();
          if (now - lastSent < PROGRESS_MS && progress.fileBytes < progress.fileTotal) return;
          lastSent = now;
          const chunk: DownloadChunk = { download: progress };
          write({ type: "chunk", data: chunk });
        },
      });
  } catch (error) {
    active.delete(model);
    ended = true;
    const message = error instanceof DownloadError ? error.message : `the download failed: ${String(error)}`;
    write(
      error instanceof DownloadError && error.kind === "cancelled" ? { type: "stopped" } : { type: "error", message },
    );
    raw.end();
    return;
  }
  active.delete(model);
  // Downloaded (or found cached): load it from the cache, through the queue.
  await new Promise<void>((resolve) => {
    try {
      loadId = queue.add(
        { type: "load", model },
        {
          onEvent: write,
          onDone: () => {
            ended = true;
            raw.end();
            resolve();
          },
        },
      );
      if (raw.destroyed) queue.stop(loadId);
    } catch (error) {
      ended = true;
      write({ type: "error", message: error instanceof Error ? error.message : String(error) });
      raw.end();
      resolve();
    }
  });
}
