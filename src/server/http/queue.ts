// The one queue of model work: each job waits its turn, is told its place as the line moves, and runs
// alone on the model's thread. A job that is stopped while waiting leaves the line at once; one that
// is running is asked to stop and ends at its next step.
import type { ToCompute } from "../messages.ts";
import type { RunKind, StreamEvent } from "../protocol.ts";

export type JobRequest = { type: "run"; kind: RunKind; body: unknown } | { type: "load"; model: string };

export interface JobListener {
  onEvent(event: StreamEvent): void;
  /** The job has ended: after its result, error or stop event. */
  onDone(): void;
}

interface Entry {
  id: number;
  request: JobRequest;
  listener: JobListener;
}

export class QueueFull extends Error {}

export class JobQueue {
  readonly #send: (message: ToCompute) => void;
  readonly #waiting: Entry[] = [];
  #current: Entry | undefined;
  #nextId = 1;

  readonly #capacity: number;

  constructor(send: (message: ToCompute) => void, capacity: number) {
    this.#send = send;
    this.#capacity = capacity;
  }

  get busy(): boolean {
    return this.#current !== undefined;
  }

  get length(): number {
    return this.#waiting.length;
  }

  /** Adds a job; returns its id (for `stop`). Throws QueueFull when `capacity` jobs are waiting. */
  add(request: JobRequest, listener: JobListener): number {
    if (this.#waiting.length >= this.#capacity) {
      throw new QueueFull(`the queue is full (${this.#capacity} requests waiting); try again when it has moved`);
    }
    const entry = { id: this.#nextId++, request, listener };
    this.#waiting.push(entry);
    this.#advance();
    return entry.id;
  }

  /** Stops a job: a waiting one is dropped now; a running one is asked to stop. */
  stop(id: number): void {
    const at = this.#waiting.findIndex((e) => e.id === id);
    if (at >= 0) {
      const [entry] = this.#waiting.splice(at, 1) as [Entry];
      entry.listener.onEvent({ type: "stopped" });
      entry.listener.onDone();
      this.#announce();
      return;
    }
    if (this.#current?.id === id) this.#send({ type: "stop", id });
  }

  /** An event of the running job, from the model's thread. */
  event(id: number, event: StreamEvent): void {
    const current = this.#current;
    if (current !== undefined && current.id === id) current.listener.onEvent(event);
  }

  /** The running job has ended: start the next. */
  done(id: number): void {
    const ended = this.#current;
    if (ended === undefined || ended.id !== id) return;
    this.#current = undefined;
    ended.listener.onDone();
    this.#advance();
  }

  #advance(): void {
    if (this.#current === undefined) {
      const next = this.#waiting.shift();
      if (next !== undefined) {
        this.#current = next;
        const { request } = next;
        this.#send(
          request.type === "load"
            ? { type: "load", id: next.id, model: request.model }
            : { type: "run", id: next.id, kind: request.kind, body: request.body },
        );
      }
    }
    this.#announce();
  }

  /** Tells each waiting job how many are ahead of it (the running one included). */
  #announce(): void {
    this.#waiting.forEach((entry, i) => {
      entry.listener.onEvent({ type: "queued", position: i + 1 });
    });
  }
}
