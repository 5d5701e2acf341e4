// The tests' side of the server: JSON requests and server-sent-event streams read to the end.
import type { StreamEvent } from "../../src/server/protocol.ts";

export const FIXTURES = new URL("../../fixtures/", import.meta.url).pathname;
export const TINY = `${FIXTURES}tiny-lm-f16`;

export interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

export async function post(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return read(response);
}

export async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return read(await fetch(base + path, { headers }));
}

async function read(response: Response): Promise<Answer> {
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  let body: unknown = text;
  if (type.includes("application/json")) body = JSON.parse(text);
  else if (type.includes("text/event-stream")) body = events(text);
  return { status: response.status, body, headers: response.headers };
}

export function events(text: string): StreamEvent[] {
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => JSON.parse(block.slice(6)) as StreamEvent);
}

/** The result event's data of a finished stream (fails with the stream's error otherwise). */
export function resultOf(answer: Answer): unknown {
  const list = answer.body as StreamEvent[];
  const error = list.find((e) => e.type === "error");
  if (error?.type === "error") throw new Error(`the stream failed: ${error.message}`);
  const result = list.find((e) => e.type === "result");
  if (result?.type !== "result") throw new Error(`no result in ${JSON.stringify(list).slice(0, 300)}`);
  return result.data;
}

/** Polls `fn` until it returns true (each poll yields to the event loop); fails after `tries`. */
export async function until(fn: () => Promise<boolean> | boolean, what: string, tries = 2000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await fn()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}
