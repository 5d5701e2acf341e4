// Talking to the server: JSON requests, and the server-sent-event streams of computations (read
// with fetch, so a stop is an abort: the server sees the connection close and stops the job).
import type { DownloadRequest, ErrorResponse, RunKind, RunRequests, StreamEvent } from "../../src/server/protocol.ts";

export class ApiError extends Error {}

async function failure(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as ErrorResponse;
    return new ApiError(body.error);
  } catch {
    return new ApiError(`${response.status} ${response.statusText}`);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path);
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

export interface StreamHandlers {
  onQueued?(position: number): void;
  onStarted?(): void;
  onChunk?(data: unknown): void;
  /** Steps of the computation done, of how many. */
  onProgress?(done: number, total: number): void;
}

/** Runs a computation; resolves to its result, or undefined when stopped. */
export function runStream<K extends RunKind>(
  kind: K,
  body: RunRequests[K],
  handlers: StreamHandlers,
  signal: AbortSignal,
): Promise<unknown> {
  return postStream(`/api/run/${kind}`, body, handlers, signal);
}

/**
 * Downloads a Hub model into the server's cache and loads it: progress as chunks
 * (DownloadChunk), then the load's events; resolves to the loaded ModelInfo, or undefined when
 * cancelled (the abort cancels the download on the server, which removes what it wrote).
 */
export function downloadStream(body: DownloadRequest, handlers: StreamHandlers, signal: AbortSignal): Promise<unknown> {
  return postStream("/api/download", body, handlers, signal);
}

async function postStream(
  path: string,
  body: unknown,
  handlers: StreamHandlers,
  signal: AbortSignal,
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (signal.aborted) return undefined;
    throw error;
  }
  if (!response.ok) throw await failure(response);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf("\n\n");
        if (!line.startsWith("data: ")) continue;
        const event = JSON.parse(line.slice(6)) as StreamEvent;
        switch (event.type) {
          case "queued":
            handlers.onQueued?.(event.position);
            break;
          case "started":
            handlers.onStarted?.();
            break;
          case "chunk":
            handlers.onChunk?.(event.data);
            break;
          case "progress":
            handlers.onProgress?.(event.done, event.total);
            break;
          case "result":
            return event.data;
          case "error":
            throw new ApiError(event.message);
          case "stopped":
            return undefined;
        }
      }
    }
  } catch (error) {
    if (signal.aborted) return undefined;
    throw error;
  }
  if (signal.aborted) return undefined;
  throw new ApiError("the stream ended without a result");
}
