// What a computation sees of the request that asked for it: a way to send a piece of its result as
// it comes, and whether the client has gone or pressed stop. Long computations run in steps (a
// token, a layer) and look between steps; `pause` lets the thread read its messages (a stop) there.
import type { HookedModel } from "../../hooks/hooked-model.ts";

export interface JobIO {
  send(chunk: unknown): void;
  readonly stopped: boolean;
  /** Yields to the event loop, so a stop sent meanwhile is seen. */
  pause(): Promise<void>;
}

export type Job<Request> = (hm: HookedModel, request: Request, io: JobIO) => Promise<unknown>;

/** Thrown by a job that saw a stop; the loop reports it as stopped rather than failed. */
export class Stopped extends Error {
  constructor() {
    super("stopped");
  }
}
