// The messages between the HTTP thread (which answers requests and keeps the queue) and the thread
// that owns the model (which computes). Plain data: both sides import this, neither imports mlux
// through it.
import type { ModelState, RunKind, StreamEvent } from "./protocol.ts";

/** From the HTTP thread to the model's thread. */
export type ToCompute =
  | { type: "run"; id: number; kind: RunKind; body: unknown }
  | { type: "load"; id: number; model: string }
  | { type: "stop"; id: number };

/** From the model's thread to the HTTP thread. */
export type ToHttp =
  | { type: "event"; id: number; event: StreamEvent }
  /** The job `id` has ended (after its result, error or stop event); the next may start. */
  | { type: "done"; id: number }
  | { type: "model"; state: ModelState }
  | { type: "listening"; url: string }
  | { type: "fatal"; message: string };
