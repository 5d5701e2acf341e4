// A server-sent-event answer: the reply taken over from Fastify, its headers sent once, then one
// `data:` line per event while the connection is open.
import type { FastifyReply } from "fastify";
import type { StreamEvent } from "../protocol.ts";

/** Sends the event stream's headers, once (the reply is the caller's from then on). */
export function startEventStream(reply: FastifyReply): void {
  if (reply.raw.headersSent) return;
  reply.hijack();
  reply.raw.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
}

/** Writes one event, starting the stream if it has not started; nothing once the client is gone. */
export function sendEvent(reply: FastifyReply, event: StreamEvent): void {
  startEventStream(reply);
  const raw = reply.raw;
  if (!raw.writableEnded && !raw.destroyed) raw.write(`data: ${JSON.stringify(event)}\n\n`);
}
