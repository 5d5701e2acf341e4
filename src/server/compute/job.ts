// What a computation sees of the request that asked for it: a way to send a piece of its result as
// it comes, its progress, and whether the client has gone or pressed stop. Long computations run in
// steps (a token, a layer, a batch of a sweep) and look between steps. A stop sent while the thread
// is inside one synchronous library call cannot be read as a message until the call returns, so the
// HTTP thread also writes it into shared memory, which `stopped` reads at once; `step` reads it and
// aborts `signal`, which the library's experiments check after each step (experiments/abort.ts).
import type { HookedModel } from "../../hooks/hooked-model.ts";

export interface JobIO {
  send(chunk: unknown): void;
  readonly stopped: boolean;
  /** Yields to the event loop, so a stop sent meanwhile is seen. */
  pause(): Promise<void>;
  /**
   * A step is done: sends a progress event and, if the job was stopped, aborts `signal`. Pass it as
   * an experiment's onProgress, with `signal`, so the experiment stops at its next step.
   */
  step(done: number, total: number): void;
  /** Aborted by `step` once the job is stopped. */
  readonly signal: AbortSignal;
}

export type Job<Request> = (hm: HookedModel, request: Request, io: JobIO) => Promise<unknown>;

/** Thrown by a job that saw a stop; the loop reports it as stopped rather than failed. */
export class Stopped extends Error {
  constructor() {
    super("stopped");
  }
}

/** The options that make an experiment report its steps to `io` and stop when the job is stopped. */
export function steps(io: JobIO): { onProgress: (done: number, total: number) => void; signal: AbortSignal } {
  return { onProgress: (done, total) => io.step(done, total), signal: io.signal };
}
